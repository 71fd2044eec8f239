"""RL's distillation methods are configured as in vision and NLP: ``method.name`` picks one of
kd.rl.distillation.methods.METHODS, ``methods.<name>`` holds its constructor's arguments, checked (with "did you
mean") before the run folder exists; keys of the earlier ``distill.method`` layout are refused in one line."""
import argparse
from pathlib import Path

import pytest
import yaml

from kd.common.utils.cli import DRY_RUN_HEADER, main_entry
from kd.common.utils.config import load_yaml
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import check_method_sections
from kd.common.utils.registry import keyword_parameters
from kd.rl.distillation.methods import METHODS, WHAT, method_setting, method_temperature
from kd.rl.run_setup import DEFAULT_CONFIG, load_rl_config
from kd.rl.scripts import distill
from kd.rl.scripts.distill import refuse_policy_distillation_keys

CONFIG = DEFAULT_CONFIG.with_name("cartpole.yaml")


def refused(runs: Path, capsys, *argv: str) -> str:
    """The one error line ``distill`` exits with (non-zero), having created nothing under ``runs``."""
    with pytest.raises(SystemExit) as exit_info:
        main_entry(distill.main, ["--config", str(CONFIG), "--runs-dir", str(runs), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code != 0 and len(err) == 1, err
    assert not runs.exists() or not any(runs.iterdir())
    return err[0]


def dry_run(runs: Path, capsys, *argv: str, config: Path = CONFIG) -> dict:
    """The resolved config ``distill --dry-run`` prints (every check passed, nothing created)."""
    with pytest.raises(SystemExit) as exit_info:
        distill.main(["--config", str(config), "--runs-dir", str(runs), "--dry-run", *argv])
    assert exit_info.value.code == 0 and not runs.exists()
    return yaml.safe_load(capsys.readouterr().out.split(DRY_RUN_HEADER, 1)[1].rsplit("dry run:", 1)[0])


def test_default_yaml_has_a_section_per_method_at_its_constructors_defaults():
    sections = load_yaml(DEFAULT_CONFIG)["methods"]
    assert sorted(sections) == METHODS.names() == ["kickstarting", "policy_distillation"]
    for name in METHODS.names():
        defaults = {key: p.default for key, p in keyword_parameters(METHODS.get(name)).items()}
        assert sections[name] == defaults, name


def test_unknown_method_name_says_which_was_meant(tmp_path, capsys):
    assert refused(tmp_path / "runs", capsys, "method.name=kickstartin") == (
        "error: unknown method.name 'kickstartin' (did you mean 'kickstarting'?); the RL distillation methods are: "
        "kickstarting, policy_distillation")


@pytest.mark.parametrize("override,expected", [
    ("methods.kickstarting.weight_strat=2", "error: unknown config key 'methods.kickstarting.weight_strat'; did you "
                                            "mean 'methods.kickstarting.weight_start'?"),
    ("+methods.policy_distillation.total_steps=5", "error: RL distillation method 'policy_distillation' takes no "
                                                   "argument 'total_steps'; known: loss, temperature"),
    ("+methods.kickstart.total_steps=5", "error: methods.kickstart: no method is called 'kickstart' (did you mean "
                                         "'kickstarting'?)"),
    ("methods.policy_distillation.loss=gaussian_kl", "error: methods.policy_distillation.loss=gaussian_kl does not "
                                                     "fit the teacher's discrete actions"),
])
def test_a_bad_method_argument_is_one_line(tmp_path, capsys, teacher_pt, override, expected):
    err = refused(tmp_path / "runs", capsys, f"teacher.checkpoint={teacher_pt}", override)
    assert err.startswith(expected), err


@pytest.mark.parametrize("override,expected", [
    ("student.arch.hiden=[8]", "error: student.arch: policy architecture 'actor_critic' takes no argument 'hiden'; "
                               "did you mean 'hidden'?"),
    ("student.arch.obs_shape=[4]", "error: student.arch.obs_shape is set by the environment's spaces: drop it"),
    ("distill.data=teachr", "error: unknown distill.data 'teachr'; did you mean 'teacher'?"),
    ("methods.policy_distillation.loss=nll methods.policy_distillation.temperature=0.5",
     "error: methods.policy_distillation.temperature=0.5 is read only by methods.policy_distillation.loss=kl (the "
     "teacher's softmax(q / T)), not by methods.policy_distillation.loss=nll: drop it, or pass "
     "methods.policy_distillation.loss=kl"),
    ("method.name=kickstarting student.arch.hiden=[8]", "error: student.arch: policy architecture 'actor_critic' takes "
                                                        "no argument 'hiden'; did you mean 'hidden'?"),
])
def test_the_student_data_source_and_temperature_are_checked_before_the_run_folder(tmp_path, capsys, teacher_pt,
                                                                                    override, expected):
    """The student is built, distill.data looked up and a temperature the loss would ignore refused in prepare, so
    --dry-run catches each of them and a run leaves nothing behind."""
    argv = [f"teacher.checkpoint={teacher_pt}", *override.split()]
    assert refused(tmp_path / "runs", capsys, "--dry-run", *argv) == expected
    assert refused(tmp_path / "runs", capsys, *argv) == expected


def test_a_temperature_of_one_passes_with_any_loss(tmp_path, capsys, teacher_pt):
    config = dry_run(tmp_path / "runs", capsys, f"teacher.checkpoint={teacher_pt}", "distill.data=mix",
                     "methods.policy_distillation.loss=nll", "methods.policy_distillation.temperature=1")
    assert config["methods"]["policy_distillation"] == {"loss": "nll", "temperature": 1.0}
    assert config["distill"]["data"] == "mix"


def test_a_near_miss_in_a_presets_method_section_names_the_argument_meant(tmp_path, capsys, teacher_pt):
    preset = yaml.safe_load(CONFIG.read_text())
    preset["methods"]["kickstarting"]["wieght_start"] = preset["methods"]["kickstarting"].pop("weight_start")
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(preset))
    with pytest.raises(SystemExit):
        main_entry(distill.main, ["--config", str(tmp_path / "typo.yaml"), "--runs-dir", str(tmp_path / "runs"),
                                  f"teacher.checkpoint={teacher_pt}"])
    assert capsys.readouterr().err.strip() == (f"error: unknown config key 'methods.kickstarting.wieght_start' in "
                                               f"{tmp_path / 'typo.yaml'}; did you mean "
                                               "'methods.kickstarting.weight_start'?")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("old,new", [
    ("distill.method=kickstarting", "method.name"),
    ("distill.loss=nll", "methods.<name>.loss (e.g. methods.policy_distillation.loss=kl)"),
    ("distill.temperature=0.01", "methods.<name>.temperature (e.g. methods.policy_distillation.temperature=0.01)"),
    ("distill.tau=0.01", "methods.<name>.temperature"),
    ("distill.kickstart.total_steps=1000", "methods.kickstarting.total_steps"),
    ("distill.kickstart.weight_end=0.1", "methods.kickstarting.weight_end"),
])
def test_an_old_key_is_refused_in_one_line_naming_the_new_one(tmp_path, capsys, teacher_pt, old, new):
    key = old.split("=")[0]
    err = refused(tmp_path / "runs", capsys, f"teacher.checkpoint={teacher_pt}", old)
    assert err.startswith(f"error: config key '{key}' was renamed to {new}"), err


def test_an_old_preset_or_run_config_is_refused_before_anything_is_written(tmp_path, capsys):
    old = yaml.safe_load(CONFIG.read_text())  # the cartpole preset in the layout of earlier versions
    methods = old.pop("methods")
    old["distill"] = {"method": old.pop("method")["name"], **methods["policy_distillation"], **old["distill"],
                      "kickstart": methods["kickstarting"]}
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    err = refused(tmp_path / "runs", capsys, "--config", str(tmp_path / "old.yaml"))
    assert err == f"error: config key 'distill.method' in {tmp_path / 'old.yaml'} was renamed to method.name (e.g. " \
                  "method.name=kickstarting)"
    run = tmp_path / "runs" / "rl-cartpole-distill-s1-20250101-000000"  # a run folder of an earlier version
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    with pytest.raises(SystemExit):
        main_entry(distill.main, ["--resume", str(run)])
    assert "(a run of an earlier version) was renamed to method.name" in capsys.readouterr().err
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]


def test_switching_method_name_uses_that_methods_own_defaults(tmp_path, capsys, teacher_pt):
    """No preset: policy distillation's sharpened temperature stays its own; kickstarting builds with its
    default.yaml section, and ``loss: auto`` is recorded as the loss it resolved to."""
    teacher = f"teacher.checkpoint={teacher_pt}"
    sharp = "methods.policy_distillation.temperature=0.01"
    config = dry_run(tmp_path / "runs", capsys, teacher, "env.name=cartpole", sharp, "method.name=kickstarting",
                     config=DEFAULT_CONFIG)
    assert config["method"] == {"name": "kickstarting"}
    assert config["methods"]["kickstarting"] == {"loss": "kl", "temperature": 1.0, "total_steps": 100000,
                                                 "lr": 0.00025, "weight_start": 1.0, "weight_end": 0.0,
                                                 "anneal_fraction": 0.5}
    assert config["methods"]["policy_distillation"]["temperature"] == 0.01
    config = dry_run(tmp_path / "runs", capsys, teacher, sharp, "method.name=kickstarting")  # the cartpole preset
    assert config["methods"]["kickstarting"] == {"loss": "kl", "temperature": 1.0, "total_steps": 50000,
                                                 "lr": 0.002, "weight_start": 2.0, "weight_end": 0.0,
                                                 "anneal_fraction": 0.5}


KICKSTARTING = "method.name=kickstarting"
def unread(reads: str) -> str:
    """The end of the line that refuses a key kickstarting does not read, in a section of which it reads ``reads``."""
    return (f"is not read by method.name=kickstarting, which reads only {reads} of that section and takes its settings "
            f"from methods.kickstarting and teacher.ppo: drop it")


UNREAD = unread("distill.eval_episodes")
STUDENT_UNREAD = unread("student.network, student.arch")


@pytest.mark.parametrize("override,instead", [
    ("distill.total_steps=1000", ", or set methods.kickstarting.total_steps=1000"),
    ("distill.max_minutes=5", ", or set teacher.ppo.max_minutes=5"),
    ("distill.data=student", ""),
])
def test_a_distill_key_kickstarting_would_not_read_is_refused(tmp_path, capsys, teacher_pt, override, instead):
    key, value = override.split("=")
    err = refused(tmp_path / "runs", capsys, f"teacher.checkpoint={teacher_pt}", KICKSTARTING, override)
    assert err == f"error: {key}={yaml.safe_load(value)!r} {UNREAD}{instead}"


@pytest.mark.parametrize("override,instead", [
    ("student.lr=0.001", ", or set methods.kickstarting.lr=0.001"),
    ("student.batch_size=64", ""),
    ("student.updates_per_iteration=4", ""),
])
def test_kickstarting_refuses_the_students_training_settings(tmp_path, capsys, teacher_pt, override, instead):
    """Kickstarting trains the student by PPO (methods.kickstarting.lr, teacher.ppo's minibatches and epochs): a
    student.lr typed for it is refused, not silently ignored, as are the other keys only policy distillation reads."""
    key, value = override.split("=")
    err = refused(tmp_path / "runs", capsys, f"teacher.checkpoint={teacher_pt}", KICKSTARTING, override)
    assert err == f"error: {key}={yaml.safe_load(value)!r} {STUDENT_UNREAD}{instead}"


def test_a_preset_that_picks_kickstarting_may_not_set_the_students_training(tmp_path, capsys, teacher_pt):
    """The cartpole preset's student training is default.yaml's (it passes under kickstarting; its distill loop is
    set back to default.yaml's, which it changes); changed, in a preset that picks kickstarting itself, it is
    refused naming the key."""
    preset = yaml.safe_load(CONFIG.read_text())
    preset["method"]["name"] = "kickstarting"
    preset["distill"] = yaml.safe_load(DEFAULT_CONFIG.read_text())["distill"]
    (tmp_path / "kick.yaml").write_text(yaml.safe_dump(preset))
    dry_run(tmp_path / "runs", capsys, f"teacher.checkpoint={teacher_pt}", config=tmp_path / "kick.yaml")
    preset["student"]["lr"] = 0.01
    (tmp_path / "kick.yaml").write_text(yaml.safe_dump(preset))
    assert refused(tmp_path / "runs", capsys, "--config", str(tmp_path / "kick.yaml"),
                   f"teacher.checkpoint={teacher_pt}") == \
        f"error: student.lr=0.01 {STUDENT_UNREAD}, or set methods.kickstarting.lr=0.01"


def test_kickstarting_takes_a_preset_written_for_policy_distillation_and_its_own_runs(tmp_path, capsys, teacher_pt):
    """The cartpole preset's distill loop (total_steps 30000, not default.yaml's 50000) is policy distillation's,
    left unread when the command line picks kickstarting; a preset that picks kickstarting itself may not set it
    (a key at default.yaml's value passes), and a resumed run keeps what it was started with. distill.eval_episodes
    passes; any other distill key typed on the command line is refused, even at default.yaml's value."""
    teacher = f"teacher.checkpoint={teacher_pt}"
    config = dry_run(tmp_path / "runs", capsys, teacher, KICKSTARTING, "distill.eval_episodes=3")
    assert config["distill"]["eval_episodes"] == 3 and config["distill"]["total_steps"] == 30000
    assert refused(tmp_path / "runs", capsys, teacher, KICKSTARTING, "distill.total_steps=50000") == \
        f"error: distill.total_steps=50000 {UNREAD}, or set methods.kickstarting.total_steps=50000"
    preset = yaml.safe_load(CONFIG.read_text())
    preset["method"]["name"] = "kickstarting"
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(preset))
    assert refused(tmp_path / "runs", capsys, "--config", str(tmp_path / "mine.yaml"), teacher) == \
        f"error: distill.total_steps=30000 {UNREAD}, or set methods.kickstarting.total_steps=30000"
    run = tmp_path / "runs" / "rl-cartpole-distill-s1-20250101-000000"  # a kickstarting run from the cartpole preset
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config | {"distill": {**config["distill"], "total_steps": 30000}}))
    with pytest.raises(SystemExit) as exit_info:
        distill.main(["--resume", str(run), "--dry-run"])
    assert exit_info.value.code == 0 and yaml.safe_load(capsys.readouterr().out.split(DRY_RUN_HEADER, 1)[1].rsplit(
        "dry run:", 1)[0])["distill"]["total_steps"] == 30000
    with pytest.raises(SystemExit):
        main_entry(distill.main, ["--resume", str(run), "distill.buffer_size=64"])
    assert capsys.readouterr().err.strip() == f"error: distill.buffer_size=64 {UNREAD}"
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("preset", sorted(p.stem for p in DEFAULT_CONFIG.parent.glob("*.yaml") if p.stem != "default"))
def test_every_preset_runs_kickstarting(preset):
    """``--config <preset> method.name=kickstarting`` (the README's cartpole command) passes the config checks."""
    args = argparse.Namespace(config=preset, overrides=[KICKSTARTING], seed=None, resume=None)
    config = load_rl_config(args)
    assert check_method_sections(config, METHODS, WHAT) == "kickstarting"
    refuse_policy_distillation_keys(config, args)


def test_report_reads_the_temperature_of_the_runs_method():
    sharp = {"methods": {"policy_distillation": {"temperature": 0.01}, "kickstarting": {"temperature": 1.0}}}
    assert method_temperature(sharp, "policy_distillation") == 0.01
    assert method_temperature(sharp, "kickstarting") == 1.0
    assert method_temperature({"distill": {"temperature": 0.01}}, "policy_distillation") == 0.01  # older
    assert method_temperature({"distill": {"tau": 0.01}}, "policy_distillation") == 0.01


def test_a_student_row_is_labelled_and_grouped_by_its_methods_own_settings():
    """Policy distillation by its loss, temperature and data source; kickstarting by its PPO steps, learning rate and
    weight schedule, not by the distill.data it never read (runs of earlier versions: distill.kickstart, the
    learning rate named learning_rate, or teacher.ppo's)."""
    config = load_rl_config(argparse.Namespace(config="cartpole", overrides=[], seed=None, resume=None))
    config["methods"]["policy_distillation"]["temperature"] = 0.01
    assert method_setting(config, {"method": "policy_distillation", "loss": "kl", "data": "mix"}) == \
        "kl T=0.01, data=mix"
    kickstarting = "kl, 50,000 PPO steps at lr 0.002, weight 2 -> 0 over the first 50%"
    assert method_setting(config, {"method": "kickstarting", "loss": "kl", "data": "teacher"}) == kickstarting
    older = {"teacher": config["teacher"], "distill": {"kickstart": config["methods"]["kickstarting"]}}
    assert method_setting(older, {"method": "kickstarting", "loss": "kl", "data": "teacher"}) == kickstarting
    kick = {**config["methods"]["kickstarting"]}
    kick["learning_rate"] = kick.pop("lr")
    named_before = {"teacher": config["teacher"], "methods": {"kickstarting": kick}}
    assert method_setting(named_before, {"method": "kickstarting", "loss": "kl", "data": "teacher"}) == kickstarting
    del kick["learning_rate"]
    teachers_lr = {"teacher": {"ppo": {"learning_rate": 0.002}}, "distill": {"kickstart": kick}}
    assert method_setting(teachers_lr, {"method": "kickstarting", "loss": "kl", "data": "teacher"}) == kickstarting


@pytest.mark.slow
def test_kickstarting_trains_with_its_own_section(tmp_path, teacher_pt):
    """The script end to end with method.name=kickstarting: PPO for methods.kickstarting.total_steps (one update of
    teacher.ppo's 2 x 64 steps), the loss resolved from auto and recorded in the run's config.yaml."""
    final = distill.main(["--config", str(DEFAULT_CONFIG), "--runs-dir", str(tmp_path), "env.name=cartpole",
                          f"teacher.checkpoint={teacher_pt}", "method.name=kickstarting", "teacher.ppo.num_envs=2",
                          "teacher.ppo.num_steps=64", "methods.kickstarting.total_steps=128", "distill.eval_episodes=1",
                          "evaluate.episodes=1"])
    assert final["method"] == "kickstarting" and final["loss"] == "kl" and final["trained_steps"] == 128
    saved = yaml.safe_load(next(tmp_path.glob("rl-cartpole-distill-s1-*/config.yaml")).read_text())
    assert saved["method"] == {"name": "kickstarting"} and saved["methods"]["kickstarting"]["loss"] == "kl"
    assert saved["methods"]["policy_distillation"]["loss"] == "auto"  # not the method that ran: left as it was


def test_a_presets_keys_are_checked_against_default_yaml_but_arch_and_env_kwargs_are_free(tmp_path):
    """load_config strict: a near miss in a preset of one's own names the key meant; the networks' arguments
    (teacher.arch, student.arch: pong.yaml's encoder, conv_channels) and env.kwargs take new keys as they are."""
    preset = tmp_path / "mine.yaml"
    preset.write_text("teacher:\n  ppo: {total_step: 1000}\n")
    with pytest.raises(ConfigError, match=rf"^unknown config key 'teacher.ppo.total_step' in {preset}; did you mean "
                                          r"'teacher.ppo.total_steps'\?$"):
        load_rl_config(argparse.Namespace(config=str(preset), overrides=[], seed=None, resume=None))
    preset.write_text("env: {kwargs: {max_episode_steps: 50}}\nteacher: {arch: {encoder: mlp}}\n"
                      "student: {arch: {conv_channels: [8]}}\n")
    config = load_rl_config(argparse.Namespace(config=str(preset), overrides=["student.arch.encoder=mlp"], seed=None,
                                               resume=None))
    assert config["env"]["kwargs"] == {"max_episode_steps": 50} and config["teacher"]["arch"]["encoder"] == "mlp"
    assert config["student"]["arch"]["conv_channels"] == [8] and config["student"]["arch"]["encoder"] == "mlp"
