"""airbench's lookahead EMA (kd.common.engine.lookahead) inside the Distiller, checked by hand on one scalar weight.

The model is one parameter ``w`` (0 at the start) and the loss is ``-w``, so plain SGD at lr 1 adds exactly 1 to
``w`` per step; the values the lookahead must give are then computed from its formula on paper:
``decay = base ** every * (step / T) ** 3``, ``ema = decay * ema + (1 - decay) * w``, ``w = ema``.
"""
import pytest
import torch
from torch import nn

from kd.common.engine import DistillationMethod, Distiller
from kd.common.engine.lookahead import Lookahead, lookahead_settings
from kd.common.utils.checkpoint import safe_load
from kd.common.utils.errors import ConfigError
from kd.common.utils.run_folder import RunFolder

STEPS_PER_EPOCH = 3


class Scalar(nn.Module):
    def __init__(self, value=0.0):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(float(value)))


class Climb(DistillationMethod):
    """Loss ``-w``: gradient -1, so SGD at lr 1 moves ``w`` up by exactly 1 per step."""

    needs_teacher = False

    def forward(self, student, teacher, batch):
        return {"climb": -student.w}


def distiller(every, base, epochs=2, run=None, start=0.0):
    model, method = Scalar(start), Climb()
    lookahead = Lookahead([model, method], epochs * STEPS_PER_EPOCH, every=every, base=base)
    return Distiller(model, method, torch.optim.SGD(model.parameters(), lr=1.0), device=torch.device("cpu"),
                     precision="fp32", progress=False, run=run, lookahead=lookahead)


BATCHES = [torch.zeros(1)] * STEPS_PER_EPOCH  # the method ignores the batch: one optimiser step each


def test_weights_follow_the_formula_and_end_as_the_average():
    """every=4 over T=6 steps: one update, after step 4; the live weight then climbs on for steps 5 and 6, and the
    final update (decay 1) puts it back on the average, before the last epoch is evaluated."""
    d = distiller(every=4, base=0.5)
    seen = []
    d.fit(BATCHES, 2, evaluate=lambda epoch: seen.append(d.student.w.item()) or {})
    decay = 0.5 ** 4 * (4 / 6) ** 3            # after step 4, where w = 4 and the average is still w0 = 0
    ema = decay * 0.0 + (1 - decay) * 4.0      # = 3.9259...
    assert seen[0] == pytest.approx(3.0)       # epoch 1: three plain steps, no update yet
    assert d.lookahead.ema["0.w"].item() == pytest.approx(ema)
    assert seen[1] == pytest.approx(ema)       # not ema + 2 (= 5.93, the live weight before the final update)
    assert d.student.w.item() == pytest.approx(ema) and d.lookahead.finished


def test_two_updates_by_hand():
    """every=2, base=0.5, T=6: updates after steps 2, 4 and 6, each from the previous average."""
    d = distiller(every=2, base=0.5)
    d.fit(BATCHES, 1)                          # steps 1-3
    d2 = 0.25 * (2 / 6) ** 3
    ema2 = (1 - d2) * 2.0                      # w = 2 after step 2, ema = w0 = 0 before
    assert d.student.w.item() == pytest.approx(ema2 + 1) and not d.lookahead.finished
    d.fit(BATCHES, 2)                          # steps 4-6
    d4, d6 = 0.25 * (4 / 6) ** 3, 0.25
    ema4 = d4 * ema2 + (1 - d4) * (ema2 + 2)
    ema6 = d6 * ema4 + (1 - d6) * (ema4 + 2)
    assert d.student.w.item() == pytest.approx(ema6) and d.lookahead.finished


def test_resume_in_the_middle_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    """After epoch 1 the average (1.98) and the live weight (2.98) differ: last.pt must carry the average."""
    straight = distiller(every=2, base=0.5, run=RunFolder(tmp_path / "straight", tensorboard=False))
    straight.fit(BATCHES, 2)
    cut = distiller(every=2, base=0.5, run=RunFolder(tmp_path / "cut", tensorboard=False))
    cut.fit(BATCHES, 1)
    saved = safe_load(tmp_path / "cut" / "checkpoints" / "last.pt")
    assert saved["lookahead"]["ema"]["0.w"].item() != pytest.approx(saved["student"]["w"].item())
    resumed = distiller(every=2, base=0.5, run=RunFolder(tmp_path / "cut", tensorboard=False), start=7.0)
    resumed.fit(BATCHES, 2, resume=True)
    assert resumed.student.w.item() == straight.student.w.item()
    assert resumed.lookahead.ema["0.w"].item() == straight.lookahead.ema["0.w"].item()
    final = safe_load(tmp_path / "cut" / "checkpoints" / "last.pt")
    assert final["lookahead"]["finished"] and final["student"]["w"].item() == straight.student.w.item()


def test_a_finished_run_given_more_epochs_ends_on_the_average_again(tmp_path):
    """1 epoch (T = 3, finished), resumed to 3 (T = 9): the last update is after step 8, so only the final copy at
    step 9 makes the weights the average; the saved ``finished`` must not skip it."""
    run = lambda: RunFolder(tmp_path / "run", tensorboard=False)
    distiller(every=2, base=0.5, epochs=1, run=run()).fit(BATCHES, 1)
    longer = distiller(every=2, base=0.5, epochs=3, run=run())
    longer.fit(BATCHES, 3, resume=True)
    assert longer.global_step == 9 and longer.lookahead.finished
    assert longer.student.w.item() == longer.lookahead.ema["0.w"].item()


def test_a_run_resumed_with_fewer_epochs_than_it_trained_ends_on_the_average(tmp_path):
    """Cut after epoch 1 of 2 (the live weight 1 above the average), resumed with 1 epoch: no epoch runs, and the
    weights still become the average."""
    run = lambda: RunFolder(tmp_path / "run", tensorboard=False)
    distiller(every=2, base=0.5, epochs=2, run=run()).fit(BATCHES, 1)
    shorter = distiller(every=2, base=0.5, epochs=1, run=run())
    shorter.fit(BATCHES, 1, resume=True)
    assert shorter.lookahead.finished and shorter.student.w.item() == shorter.lookahead.ema["0.w"].item()


def test_it_averages_float_buffers_and_trained_weights_only():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model[0].bias.requires_grad_(False)
    tracked = set(Lookahead(model, 10).ema)
    assert tracked == {"0.0.weight", "0.1.weight", "0.1.bias", "0.1.running_mean", "0.1.running_var"}


def test_a_model_frozen_after_construction_stays_tracked():
    """Guide mode freezes its teacher between rounds while the teacher's Lookahead lives on: what is averaged is
    decided when the Lookahead is built, so an update or the final copy with the model frozen still covers it."""
    model = Scalar(0.0)
    lookahead = Lookahead(model, 4, every=2, base=0.5)
    with torch.no_grad():
        model.w.fill_(4.0)                     # trained, then frozen (to relabel, say)
    model.requires_grad_(False)
    lookahead.update(0.5)
    assert set(lookahead.ema) == {"0.w"} and model.w.item() == lookahead.ema["0.w"].item() == 2.0
    lookahead.load_state_dict(lookahead.state_dict())  # its own checkpoint, read back with the model frozen


def test_resuming_a_run_saved_without_lookahead_starts_the_average_from_the_resumed_weights(tmp_path):
    """The model frozen when its Distiller resumes (guide mode's teacher is): the restarted average still holds it."""
    model, method = Scalar(), Climb()
    plain = Distiller(model, method, torch.optim.SGD(model.parameters(), lr=1.0), device=torch.device("cpu"),
                      precision="fp32", progress=False, run=RunFolder(tmp_path, tensorboard=False))
    plain.fit(BATCHES, 1)                      # w = 3, and no average in last.pt
    d = distiller(every=2, base=0.5, run=RunFolder(tmp_path, tensorboard=False), start=7.0)
    d.student.requires_grad_(False)
    assert d.try_resume()
    assert d.student.w.item() == 3.0 and d.lookahead.ema["0.w"].item() == 3.0 and not d.lookahead.finished


def test_config_values():
    assert lookahead_settings(None, "teacher.lookahead") is None
    assert lookahead_settings({"every": 0, "base": 0.95}, "teacher.lookahead") is None
    assert lookahead_settings({"every": 5}, "teacher.lookahead") == {"every": 5, "base": 0.95}
    with pytest.raises(ConfigError, match=r"^unknown config key 'student.lookahead.evry'; did you mean "
                                          r"'student.lookahead.every'\?$"):
        lookahead_settings({"evry": 5}, "student.lookahead")
    with pytest.raises(ConfigError, match=r"teacher.lookahead.base must be a number in \[0, 1\)"):
        lookahead_settings({"every": 5, "base": 1.0}, "teacher.lookahead")
