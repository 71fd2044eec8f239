"""The distillation engine: it learns, it resumes where it stopped, and it stops on a NaN loss."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from kd.common.engine import DistillationMethod, Distiller, EpochShuffleSampler, predict, teacher_forward
from kd.common.losses import soft_target_kl
from kd.common.utils.checkpoint import safe_load
from kd.common.utils.errors import CheckpointMismatchError, ConfigError, NonFiniteLossError
from kd.common.utils.run_folder import RunFolder


class KD(DistillationMethod):
    def __init__(self, temperature=2.0, **kw):
        super().__init__(**kw)
        self.temperature = temperature

    def forward(self, student, teacher, batch):
        x, y = batch
        s = student(x)
        terms = {"ce": F.cross_entropy(s, y)}
        if teacher is not None:
            terms["kd"] = soft_target_kl(s, teacher_forward(teacher, x), self.temperature)
        return terms


def blobs(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    return centres[y] + 0.6 * torch.randn(n, 2, generator=g), y


def loader(x, y, seed=0):
    return DataLoader(TensorDataset(x, y), batch_size=32, sampler=EpochShuffleSampler(len(x), seed=seed))


def make_distiller(run=None, lr=0.1, teacher=None, seed=0, precision="auto"):
    torch.manual_seed(seed)
    student = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    method = KD(weights={"ce": 0.5, "kd": 0.5})
    opt = torch.optim.SGD(student.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return Distiller(student, method, opt, device=torch.device("cpu"), teacher=teacher, scheduler=sched,
                     run=run, progress=False, log_every=4, precision=precision)


def accuracy(model, x, y):
    return (model(x).argmax(-1) == y).float().mean().item()


def test_student_learns_from_teacher_and_labels(tmp_path):
    x, y = blobs()
    teacher = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    Distiller(teacher, KD(), torch.optim.Adam(teacher.parameters(), 1e-2), device=torch.device("cpu"),
              progress=False).fit(loader(x, y), epochs=5)
    distiller = make_distiller(RunFolder(tmp_path / "run"), teacher=teacher)
    history = distiller.fit(loader(x, y), epochs=3, evaluate=lambda epoch: {"acc": accuracy(distiller.student, x, y)})
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[-1]["acc"] > 0.9
    assert history[-1]["loss"] < history[0]["loss"]
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file()
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_bf16_autocast_trains_the_student_too():
    """precision=bf16 (the CUDA default) runs the forward under autocast; on the CPU the same code path learns."""
    x, y = blobs()
    distiller = make_distiller(precision="bf16")
    history = distiller.fit(loader(x, y), epochs=3)
    assert accuracy(distiller.student, x, y) > 0.9
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in history)


def test_resume_continues_exactly_where_the_run_stopped(tmp_path):
    x, y = blobs()
    full = make_distiller(RunFolder(tmp_path / "full"))
    full.fit(loader(x, y), epochs=3)

    interrupted = make_distiller(RunFolder(tmp_path / "part"))
    interrupted.fit(loader(x, y), epochs=1)
    resumed = make_distiller(RunFolder(tmp_path / "part"), seed=123)  # different init: must be overwritten
    history = resumed.fit(loader(x, y), epochs=3, resume=True)

    assert resumed.epoch == 3 and [r["epoch"] for r in history] == [1, 2, 3]
    for a, b in zip(full.student.parameters(), resumed.student.parameters()):
        torch.testing.assert_close(a, b)
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(full.optimizer.param_groups[0]["lr"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_run_on_cuda_resumes(tmp_path):
    """last.pt's RNG states go back to torch.set_rng_state, which takes only a CPU tensor."""
    x, y = blobs()

    def on_cuda(seed):
        torch.manual_seed(seed)
        student = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)).cuda()
        return Distiller(student, KD(), torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9),
                         device=torch.device("cuda"), run=RunFolder(tmp_path / "run"), progress=False)

    on_cuda(0).fit(loader(x, y), epochs=1)
    resumed = on_cuda(123)
    resumed.fit(loader(x, y), epochs=2, resume=True)
    assert resumed.epoch == 2 and accuracy(resumed.student.cpu(), x, y) > 0.9


def test_an_fp16_run_resumes_at_the_loss_scale_it_had_reached(tmp_path):
    """fp16's GradScaler settles on a scale (lowered after overflowing steps); a resumed run starts from it, not from
    2^16 again, which would skip steps on overflow until it had come down."""
    x, y = blobs()
    first = make_distiller(RunFolder(tmp_path / "run"), precision="fp16")
    first.fit(loader(x, y), epochs=1)
    first.scaler.update(new_scale=1024.0)  # as after a few overflows
    first.save_checkpoint()
    resumed = make_distiller(RunFolder(tmp_path / "run"), precision="fp16")
    assert resumed.try_resume() and resumed.scaler.get_scale() == 1024.0


def per_step_distiller(run, batch_size, epochs=3, seed=0):
    """A distiller whose learning rate decays linearly over ``epochs`` of 256 / ``batch_size`` steps."""
    distiller = make_distiller(run, seed=seed)
    total = epochs * 256 // batch_size
    distiller.scheduler = torch.optim.lr_scheduler.LambdaLR(distiller.optimizer, lambda step: 1 - step / total)
    distiller.scheduler_interval = "step"
    return distiller


def test_a_resume_with_another_batch_size_is_refused_under_a_per_step_schedule(tmp_path):
    """The saved step (8 of 32-image batches) would be an earlier point of a 16-image schedule: refused in one line;
    the run's own batch size resumes on the schedule of an uninterrupted run."""
    x, y = blobs()
    full = per_step_distiller(None, 32)
    full.fit(loader(x, y), epochs=3)
    per_step_distiller(RunFolder(tmp_path / "part"), 32).fit(loader(x, y), epochs=1)
    smaller = DataLoader(TensorDataset(x, y), batch_size=16, sampler=EpochShuffleSampler(len(x), seed=0))
    with pytest.raises(ConfigError, match=r"--resume cannot change the steps of an epoch \(8 saved, 16 now\)"):
        per_step_distiller(RunFolder(tmp_path / "part"), 16).fit(smaller, epochs=3, resume=True)
    resumed = per_step_distiller(RunFolder(tmp_path / "part"), 32, seed=123)
    resumed.fit(loader(x, y), epochs=3, resume=True)
    assert resumed.global_step == full.global_step == 24
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(full.optimizer.param_groups[0]["lr"])
    for a, b in zip(full.student.parameters(), resumed.student.parameters()):
        torch.testing.assert_close(a, b)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    x, y = blobs()
    distiller = make_distiller(RunFolder(tmp_path / "run"))
    distiller.fit(loader(x, y), epochs=1)
    good = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    x_bad = x.clone()
    x_bad[5] = float("nan")
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step \d+ .*ce=nan.*last good checkpoint"):
        distiller.fit(loader(x_bad, y), epochs=2)
    kept = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert kept["epoch"] == good["epoch"] == 1


def test_predict_collects_whole_dataset():
    x, y = blobs(n=70)
    model = nn.Linear(2, 3)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    logits, labels = predict(model, loader, torch.device("cpu"), precision="fp32")
    assert logits.shape == (70, 3) and torch.equal(labels, y)
    torch.testing.assert_close(logits, model(x).detach())
    fast, _ = predict(model, loader, torch.device("cpu"), precision="bf16")  # what "auto" picks on a bf16 CPU
    assert fast.dtype == torch.float32
    torch.testing.assert_close(fast, logits, rtol=0.02, atol=0.02)


def test_epoch_sampler_is_reproducible_and_shards_cover_everything():
    sampler = EpochShuffleSampler(10, seed=3)
    sampler.set_epoch(2)
    first = list(sampler)
    sampler.set_epoch(2)
    assert list(sampler) == first and sorted(first) == list(range(10))
    shards = [EpochShuffleSampler(10, seed=3, num_replicas=3, rank=r) for r in range(3)]
    for s in shards:
        s.set_epoch(2)
    assert all(len(list(s)) == 4 for s in shards)
    assert set().union(*map(set, shards)) == set(range(10))


def test_teacher_forward_keeps_transformers_outputs():
    from transformers.modeling_outputs import SequenceClassifierOutput

    class HFLike(nn.Module):
        def forward(self, x):
            return SequenceClassifierOutput(logits=x * 2)

    out = teacher_forward(HFLike(), torch.ones(2, 3))
    assert isinstance(out, SequenceClassifierOutput)
    assert torch.equal(out.logits, torch.full((2, 3), 2.0)) and not out.logits.is_inference()


def test_resume_applies_a_changed_learning_rate_at_the_saved_point_of_its_schedule(tmp_path):
    """--resume RUN student.lr=... must train at the new rate: the optimiser state holds the old one, and a saved
    scheduler would bring the old base rate back at its next step."""
    x, y = blobs()
    make_distiller(RunFolder(tmp_path / "run"), lr=0.1).fit(loader(x, y), epochs=2)
    resumed = make_distiller(RunFolder(tmp_path / "run"), lr=0.01)
    history = resumed.fit(loader(x, y), epochs=3, resume=True)
    # epochs 1-2 trained at 0.1, 0.05; epoch 3 at StepLR(1, 0.5)'s third rate from the new 0.01, not from 0.1
    assert [r["lr"] for r in history] == pytest.approx([0.1, 0.05, 0.01 * 0.5 ** 2])
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 3)
    assert resumed.optimizer.param_groups[0]["momentum"] == 0.9 and resumed.optimizer.state  # moments kept


@pytest.mark.parametrize("first, second", [("epoch", "step"), ("step", "epoch")])
def test_a_resume_that_changes_the_schedule_starts_the_new_one_at_the_saved_point(tmp_path, first, second):
    """--resume with another schedule (vision's student.schedule) that counts epochs where the old one counted steps,
    or the other way: the new one is replayed to the run's epoch, or its step (8 steps an epoch here), not to the
    old one's count."""
    x, y = blobs()

    def build(interval):
        torch.manual_seed(0)
        student = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
        opt = torch.optim.SGD(student.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda n: 1.0 / (1 + n))  # 0.1 / (1 + epochs or steps done)
        return Distiller(student, KD(), opt, device=torch.device("cpu"), scheduler=sched, scheduler_interval=interval,
                         run=RunFolder(tmp_path / "run", tensorboard=False), progress=False)

    build(first).fit(loader(x, y), epochs=2)
    resumed = build(second)
    assert resumed.try_resume() and (resumed.epoch, resumed.global_step) == (2, 16)
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / (1 + (2 if second == "epoch" else 16)))


def test_tensorboard_shows_no_step_twice_after_a_resume(tmp_path):
    """A run killed in epoch 2 after logging steps 10 and 12 (4 steps an epoch past its last.pt at step 8) trains
    them again when resumed: TensorBoard must show each step once, the resumed run's."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    x, y = blobs()
    cut = make_distiller(RunFolder(tmp_path / "run"))
    cut.log_every = 2
    train_step = cut.train_step

    def dying(batch):
        if cut.global_step == 13:
            raise KeyboardInterrupt
        return train_step(batch)

    cut.train_step = dying
    with pytest.raises(KeyboardInterrupt):
        cut.fit(loader(x, y), epochs=3)
    cut.run.close()
    resumed = make_distiller(RunFolder(tmp_path / "run"))
    resumed.log_every = 2
    resumed.fit(loader(x, y), epochs=3, resume=True)
    resumed.run.close()
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]
    assert [e.step for e in events.Scalars("epoch/loss")] == [1, 2, 3]


def test_a_checkpoint_whose_weights_do_not_fit_is_one_line_naming_it(tmp_path):
    """last.pt of another version of the code (a layer renamed): a CheckpointMismatchError naming the file and the
    keys, not torch's many-line RuntimeError."""
    x, y = blobs()
    make_distiller(RunFolder(tmp_path / "run")).fit(loader(x, y), epochs=1)
    path = tmp_path / "run" / "checkpoints" / "last.pt"
    state = safe_load(path)
    state["student"]["old.weight"] = state["student"].pop("0.weight")
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError) as error:
        make_distiller(RunFolder(tmp_path / "run")).try_resume()
    assert str(error.value) == (f"{path} (student) does not match the model (missing ['0.weight']; unexpected "
                                f"['old.weight']); check the architecture and the number of classes")


def test_a_loss_that_grows_a_thousandfold_without_nan_is_reported(capsys):
    x, y = blobs()
    torch.manual_seed(0)
    student = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    distiller = Distiller(student, KD(), torch.optim.Adam(student.parameters(), lr=1e6), device=torch.device("cpu"),
                          progress=False, resume_advice="lower student.lr")
    history = distiller.fit(loader(x, y), epochs=2)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in history)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: the loss grew")]
    assert len(warnings) == 1 and "(epoch 1, step 1)" in warnings[0] and warnings[0].endswith("lower student.lr")
