"""RL names its settings as vision and NLP do: a learning rate is ``lr`` (``teacher.ppo.lr``, ``teacher.dqn.lr``,
``methods.kickstarting.lr``, ``student.lr``), the final evaluation's section is ``evaluate``, and the student's
training settings are in its own section beside its network (``student.lr``, ``student.batch_size``,
``student.updates_per_iteration``) while ``distill`` says how states are collected. The names of earlier versions
(``learning_rate``, ``eval``, ``distill.lr`` ...) are refused in one line naming the new one, on the command line, in
a preset and in a resumed run's saved config; the new names reach the optimisers and the sampler, and kickstarting,
which trains by PPO, refuses the student's training settings rather than ignore them."""

import pytest
import torch
import yaml

from kd.common.utils.cli import DRY_RUN_HEADER, main_entry
from kd.rl.distillation import policy_distillation
from kd.rl.run_setup import DEFAULT_CONFIG
from kd.rl.scripts import distill, train_teacher

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


def refused(capsys, *argv: str, script=train_teacher) -> str:
    """The one error line ``script`` (``train_teacher``) exits with (non-zero)."""
    with pytest.raises(SystemExit) as exit_info:
        main_entry(script.main, list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code != 0 and len(err) == 1, err
    return err[0]


def old_preset(text: str) -> str:
    """A preset's text in the names of earlier versions: ``learning_rate`` and ``eval:``."""
    return text.replace(" lr: ", " learning_rate: ").replace("\nevaluate:", "\neval:")


STUDENT_TRAINING = ("updates_per_iteration", "batch_size", "lr")  # in distill: before, in this order
IN_STUDENT = "(the student's training settings are in student:, as in vision and NLP)"


def old_student_layout(config: dict) -> dict:
    """``config`` as earlier versions laid it out: the student's training settings in ``distill``."""
    student = dict(config["student"])
    moved = {key: student.pop(key) for key in STUDENT_TRAINING}
    return {**config, "student": student, "distill": {**config["distill"], **moved}}


@pytest.mark.parametrize("old,new", [
    ("teacher.ppo.learning_rate=1e-3", "teacher.ppo.lr"),
    ("teacher.dqn.learning_rate=1e-3", "teacher.dqn.lr"),
    ("methods.kickstarting.learning_rate=1e-3", "methods.kickstarting.lr"),
    ("distill.learning_rate=1e-3", f"student.lr {IN_STUDENT}"),
    ("distill.lr=1e-3", f"student.lr {IN_STUDENT}"),
    ("distill.batch_size=64", f"student.batch_size {IN_STUDENT}"),
    ("distill.updates_per_iteration=4", f"student.updates_per_iteration {IN_STUDENT}"),
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


@pytest.mark.parametrize("key", STUDENT_TRAINING)
def test_a_students_training_setting_in_distill_in_a_preset_is_refused_with_its_new_name(tmp_path, capsys, key):
    preset = yaml.safe_load(CARTPOLE.read_text())
    preset["distill"][key] = preset["student"].pop(key)
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(preset, sort_keys=False))
    assert refused(capsys, "--config", str(tmp_path / "old.yaml"), "--runs-dir", str(tmp_path / "runs")) == \
        f"error: config key 'distill.{key}' in {tmp_path / 'old.yaml'} was renamed to student.{key} {IN_STUDENT}"
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
    distilled = run.with_name("rl-cartpole-distill-s1-20250101-000000")
    distilled.mkdir()
    saved = old_student_layout(yaml.safe_load(DEFAULT_CONFIG.read_text())) | {"env": {"name": "cartpole", "kwargs": {}}}
    (distilled / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    assert refused(capsys, "--resume", str(distilled), script=distill) == (
        f"error: config key 'distill.updates_per_iteration' in {distilled / 'config.yaml'} (a run of an earlier "
        f"version) was renamed to student.updates_per_iteration {IN_STUDENT}")
    assert sorted(p.name for p in distilled.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("config,override", [
    ("cartpole", "teacher.ppo.lr=0.0011"),
    ("cartpole_dqn", "teacher.dqn.lr=0.0011"),
])
def test_a_teachers_lr_reaches_its_optimiser(tmp_path, record_adam, config, override):
    with pytest.raises(OptimiserBuilt) as built:
        train_teacher.main(["--config", config, "--runs-dir", str(tmp_path), override])
    assert built.value.lr == 0.0011


@pytest.mark.parametrize("overrides", [
    ["student.lr=0.0011"],
    ["method.name=kickstarting", "methods.kickstarting.lr=0.0011"],
])
def test_a_students_lr_reaches_its_optimiser(tmp_path, record_adam, teacher_pt, overrides):
    with pytest.raises(OptimiserBuilt) as built:
        distill.main(["--config", "cartpole", "--runs-dir", str(tmp_path), f"teacher.checkpoint={teacher_pt}",
                      *overrides])
    assert built.value.lr == 0.0011


class FirstIterationDone(Exception):
    """Raised in place of the end of policy distillation's first iteration."""


def test_a_students_batch_size_and_updates_reach_the_sampler(tmp_path, monkeypatch, teacher_pt):
    """``student.batch_size`` states per draw from the memory, ``student.updates_per_iteration`` draws per iteration:
    the first iteration is stopped as it ends, having drawn from the memory as the student section says."""
    draws = []
    sample = policy_distillation.TeacherLabelledReplay.sample

    def recorded(self, batch_size, generator=None):
        draws.append(batch_size)
        return sample(self, batch_size, generator)

    def stop(*args, **kwargs):
        raise FirstIterationDone
    monkeypatch.setattr(policy_distillation.TeacherLabelledReplay, "sample", recorded)
    monkeypatch.setattr(policy_distillation, "finish_iteration", stop)
    with pytest.raises(FirstIterationDone):
        distill.main(["--config", "cartpole", "--runs-dir", str(tmp_path), f"teacher.checkpoint={teacher_pt}",
                      "student.batch_size=24", "student.updates_per_iteration=3", "distill.steps_per_iteration=8"])
    assert draws == [24, 24, 24]


@pytest.mark.parametrize("script, key", [(train_teacher, "teacher.ppo.num_envs"), (train_teacher, "teacher.ppo.num_steps"),
                                         (distill, "distill.num_envs"), (distill, "distill.steps_per_iteration")])
def test_a_resumed_run_keeps_its_environment_steps_per_update(tmp_path, capsys, teacher_pt, script, key):
    """A run's position is saved as a count of updates (iterations): with other steps per update the count would
    stand for other steps (a 1024-step PPO run saved at 512 and resumed with a quarter of its num_steps stopped,
    its steps all taken by the count, having trained nothing more)."""
    runs = tmp_path / "runs"
    teacher = [f"teacher.checkpoint={teacher_pt}"] if script is distill else []
    with pytest.raises(SystemExit):
        script.main(["--config", "cartpole", "--runs-dir", str(runs), *teacher, "--dry-run"])
    config = yaml.safe_load(capsys.readouterr().out.split(DRY_RUN_HEADER, 1)[1].rsplit("dry run:", 1)[0])
    run = runs / "rl-cartpole-run-s1-20250101-000000"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    section, name = key.rsplit(".", 1)
    saved = config
    for part in section.split("."):
        saved = saved[part]
    saved = saved[name]
    assert refused(capsys, "--resume", str(run), f"{key}={2 * saved}", script=script) == (
        f"error: --resume cannot change {key} ({saved} -> {2 * saved}): the run's checkpoints were made with the "
        f"saved value; drop that override, or start a new run")


def test_a_resumed_run_may_lower_the_students_lr_but_not_change_its_network(tmp_path, capsys, teacher_pt):
    """As the advice after a NaN loss says (``--resume RUN student.lr=<lower>``); the network stays the run's."""
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit):
        distill.main(["--config", "cartpole", "--runs-dir", str(runs), f"teacher.checkpoint={teacher_pt}", "--dry-run"])
    config = yaml.safe_load(capsys.readouterr().out.split(DRY_RUN_HEADER, 1)[1].rsplit("dry run:", 1)[0])
    run = runs / "rl-cartpole-distill-s1-20250101-000000"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit) as exit_info:
        distill.main(["--resume", str(run), "--dry-run", "student.lr=0.0001", "student.batch_size=64"])
    resumed = yaml.safe_load(capsys.readouterr().out.split(DRY_RUN_HEADER, 1)[1].rsplit("dry run:", 1)[0])
    assert exit_info.value.code == 0 and resumed["student"]["lr"] == 0.0001 and resumed["student"]["batch_size"] == 64
    assert refused(capsys, "--resume", str(run), "student.arch.hidden=[8]", script=distill) == (
        "error: --resume cannot change student.arch.hidden ([16] -> [8]): the run's checkpoints were made with the "
        "saved value; drop that override, or start a new run")
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
