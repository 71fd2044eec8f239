"""RL names its settings as vision and NLP do: a learning rate is ``lr`` (``teacher.ppo.lr``, ``teacher.dqn.lr``,
``methods.kickstarting.lr``, ``distill.lr``) and the final evaluation's section is ``evaluate``. The names of earlier
versions (``learning_rate``, ``eval``) are refused in one line naming the new one, on the command line, in a preset
and in a resumed run's saved config; the new names reach the optimisers."""
from pathlib import Path

import pytest
import torch
import yaml

from kd.common.utils.cli import main_entry
from kd.rl.run_setup import DEFAULT_CONFIG
from kd.rl.scripts import distill, train_teacher
from kd.rl.teacher_model import save_policy

CARTPOLE = DEFAULT_CONFIG.with_name("cartpole.yaml")


class OptimiserBuilt(Exception):
    """Raised by :func:`record_adam` in place of building the optimiser: its learning rate, and no training."""

    def __init__(self, lr: float):
        super().__init__(lr)
        self.lr = lr


@pytest.fixture
def record_adam(monkeypatch):
    """``torch.optim.Adam`` stops the run as it is built, with :class:`OptimiserBuilt` carrying its ``lr``."""
    def adam(params, lr, **kwargs):
        raise OptimiserBuilt(lr)
    monkeypatch.setattr(torch.optim, "Adam", adam)


@pytest.fixture(scope="module")
def teacher_pt(tmp_path_factory, linear_cartpole_teacher) -> Path:
    """A teacher checkpoint for the cartpole preset: the hand-made linear controller."""
    return save_policy(linear_cartpole_teacher, tmp_path_factory.mktemp("teacher") / "model.pt",
                       {"name": "cartpole", "kwargs": {}}, algo="ppo")


def refused(capsys, *argv: str) -> str:
    """The one error line ``train_teacher`` exits with (non-zero)."""
    with pytest.raises(SystemExit) as exit_info:
        main_entry(train_teacher.main, list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code != 0 and len(err) == 1, err
    return err[0]


def old_preset(text: str) -> str:
    """A preset's text in the names of earlier versions: ``learning_rate`` and ``eval:``."""
    return text.replace(" lr: ", " learning_rate: ").replace("\nevaluate:", "\neval:")


@pytest.mark.parametrize("old,new", [
    ("teacher.ppo.learning_rate=1e-3", "teacher.ppo.lr"),
    ("teacher.dqn.learning_rate=1e-3", "teacher.dqn.lr"),
    ("methods.kickstarting.learning_rate=1e-3", "methods.kickstarting.lr"),
    ("distill.learning_rate=1e-3", "distill.lr"),
    ("distill.kickstart.learning_rate=1e-3", "methods.kickstarting.lr"),
    ("eval.episodes=3", "evaluate.episodes"),
    ("eval.seed=7", "evaluate.seed"),
    ("+eval.other=1", "evaluate (the final evaluation's section: evaluate.episodes, evaluate.seed)"),
])
def test_an_old_name_on_the_command_line_is_refused_with_the_new_one(tmp_path, capsys, old, new):
    key = old.split("=")[0].lstrip("+")
    err = refused(capsys, "--config", "cartpole", "--runs-dir", str(tmp_path / "runs"), old)
    assert err == f"error: config key '{key}' was renamed to {new}"
    assert not (tmp_path / "runs").exists()


def test_an_old_name_in_a_preset_is_refused_with_the_new_one(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    preset = tmp_path / "old.yaml"
    preset.write_text(old_preset(CARTPOLE.read_text()))
    assert refused(capsys, "--config", str(preset), "--runs-dir", runs) == \
        f"error: config key 'teacher.ppo.learning_rate' in {preset} was renamed to teacher.ppo.lr"
    preset.write_text(CARTPOLE.read_text().replace("\nevaluate:", "\neval:"))
    assert refused(capsys, "--config", str(preset), "--runs-dir", runs) == \
        f"error: config key 'eval.episodes' in {preset} was renamed to evaluate.episodes"
    assert not (tmp_path / "runs").exists()


def test_a_resumed_run_of_an_earlier_version_is_refused_with_the_new_name(tmp_path, capsys):
    run = tmp_path / "runs" / "rl-cartpole-train_teacher-s1-20250101-000000"
    run.mkdir(parents=True)
    saved = yaml.safe_load(old_preset(DEFAULT_CONFIG.read_text())) | {"env": {"name": "cartpole", "kwargs": {}}}
    (run / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    assert refused(capsys, "--resume", str(run)) == (
        f"error: config key 'teacher.ppo.learning_rate' in {run / 'config.yaml'} (a run of an earlier version) was "
        "renamed to teacher.ppo.lr")
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("config,override", [
    ("cartpole", "teacher.ppo.lr=0.0011"),
    ("cartpole_dqn", "teacher.dqn.lr=0.0011"),
])
def test_a_teachers_lr_reaches_its_optimiser(tmp_path, record_adam, config, override):
    with pytest.raises(OptimiserBuilt) as built:
        train_teacher.main(["--config", config, "--runs-dir", str(tmp_path), override])
    assert built.value.lr == 0.0011


@pytest.mark.parametrize("overrides", [
    ["distill.lr=0.0011"],
    ["method.name=kickstarting", "methods.kickstarting.lr=0.0011"],
])
def test_a_students_lr_reaches_its_optimiser(tmp_path, record_adam, teacher_pt, overrides):
    with pytest.raises(OptimiserBuilt) as built:
        distill.main(["--config", "cartpole", "--runs-dir", str(tmp_path), f"teacher.checkpoint={teacher_pt}",
                      *overrides])
    assert built.value.lr == 0.0011
