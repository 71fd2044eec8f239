"""NLP configs are read as in the other domains: ``--config`` takes a preset name (none: ``sst2``), the task's defaults
(its section of default.yaml) lie under every preset, a model's training settings are in its own section
(``teacher.epochs``, ``student.lr``), a near-miss key (in an override or in a preset file of one's own) is an error
naming the key meant and a key of an earlier version one naming its new name (before anything is loaded or created),
method settings are checked with the config, a data key this data set does not read is refused when set, and every
task's method is switched by method.name with its own section methods.<name>
(tests/nlp/test_nlp_classification_methods.py and test_nlp_seq_methods.py: the rest of the method registries)."""
from argparse import Namespace

import pytest

from kd.common.utils.config import save_yaml
from kd.common.utils.errors import ConfigError, KDError, MissingPathError
from kd.nlp.scripts.launch import load_nlp_config, run_stage
from kd.nlp.tasks.training import SCHEDULE_KEYS

PRESETS = ("sst2", "trec", "multi30k", "lm")


def config(preset: str, overrides=(), resume=None) -> dict:
    """The config the NLP scripts resolve from ``preset`` (or the run folder ``resume``) and ``overrides``."""
    return load_nlp_config(Namespace(config=preset, overrides=list(overrides), seed=None, resume=resume))


@pytest.mark.parametrize("argv, error, message", [
    (["--config", "sst2", "data.train_subet=8"], ConfigError,
     "unknown config key 'data.train_subet'; did you mean 'data.train_subset'?"),
    (["--config", "sst"], MissingPathError,
     "config 'sst' not found; did you mean 'sst2'? pass a YAML path or one of: lm, multi30k, sst2"),
    (["--config", "sst2", "student.epoch=1"], ConfigError,  # a student's training settings are in student
     "unknown config key 'student.epoch'; did you mean 'student.epochs'?"),
    (["--config", "multi30k", "teacher.lrr=1e-3"], ConfigError,
     "unknown config key 'teacher.lrr'; did you mean 'teacher.lr'?"),
    (["--config", "sst2", "distill.epoch=1"], ConfigError,  # a near miss of an old key: where its setting is now
     "unknown config key 'distill.epoch'; did you mean 'student.epochs'?"),
    (["--config", "lm", "train.epoch=1"], ConfigError,
     "unknown config key 'train.epoch'; did you mean 'teacher.epochs'?"),
])
def test_near_misses_name_what_was_meant(argv, error, message, tmp_path):
    with pytest.raises(error, match=message.replace("?", r"\?")):
        run_stage("distill", "test", [*argv, "--runs-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_without_config_a_run_is_the_sst2_preset():
    """As vision without --config is default.yaml's digits and RL's CartPole: a run needs no --config."""
    assert config(None, ["student.lr=1e-3"]) == config("sst2", ["student.lr=1e-3"])
    assert config(None)["name"] == "sst2"


@pytest.mark.parametrize("preset", PRESETS)
def test_a_models_training_settings_are_in_its_own_section(preset):
    """As in vision: ``teacher.epochs``, ``student.lr``, ...; ``distill`` holds how the teacher is consulted, and no
    ``train`` section is left."""
    cfg = config(preset, ["teacher.epochs=2", "student.lr=1e-3"])
    assert cfg["teacher"]["epochs"] == 2 and cfg["student"]["lr"] == 1e-3
    assert set(SCHEDULE_KEYS) <= set(cfg["teacher"]) and set(SCHEDULE_KEYS) <= set(cfg["student"])
    assert "train" not in cfg and not set(SCHEDULE_KEYS) & set(cfg.get("distill", {}))


# (preset, a key of an earlier version, its new name): the teacher's training settings were train.*, the student's
# distill.*
MOVED = [("sst2", "train.epochs", "teacher.epochs"), ("trec", "distill.lr", "student.lr"),
         ("multi30k", "train.label_smoothing", "teacher.label_smoothing"),
         ("multi30k", "distill.batch_size", "student.batch_size"), ("lm", "train.weight_decay", "teacher.weight_decay"),
         ("lm", "distill.warmup", "student.warmup")]


@pytest.mark.parametrize("preset, old, new", MOVED)
def test_a_training_setting_of_an_earlier_version_is_refused_with_its_new_name(preset, old, new, tmp_path):
    """In an override, in a preset of one's own and in the config.yaml of a run to resume: one line naming the new
    key, nothing created."""
    renamed = f"was renamed to {new} (each model's training settings are in its own section, teacher: or student:)"
    runs = ["--runs-dir", str(tmp_path / "runs")]
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", preset, f"{old}=1", *runs])
    assert str(error.value) == f"config key '{old}' {renamed}"
    section, key = old.split(".")
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"task: {config(preset)['task']}\n{section}:\n  {key}: 1\n")
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", str(mine), *runs])
    assert str(error.value) == f"config key '{old}' in {mine} {renamed}"
    earlier = config(preset)  # a run folder of an earlier version: the setting where that version kept it
    earlier.setdefault(section, {})[key] = earlier[new.split(".")[0]].pop(key)
    (tmp_path / "run").mkdir()
    save_yaml(earlier, tmp_path / "run" / "config.yaml")
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--resume", str(tmp_path / "run")])
    assert str(error.value) == (f"config key '{old}' in {tmp_path / 'run' / 'config.yaml'} (a run of an earlier "
                                f"version) {renamed}")
    assert not (tmp_path / "runs").exists() and [p.name for p in (tmp_path / "run").iterdir()] == ["config.yaml"]


@pytest.mark.parametrize("preset, model_key", [("sst2", "student.hidden_size=128"), ("multi30k", "teacher.d_model=64"),
                                               ("lm", "student.n_layer=1")])
def test_resume_changes_a_models_training_settings_not_the_model(preset, model_key, tmp_path):
    """``--resume RUN student.lr=<lower>`` (the advice after a diverging loss) and more epochs are taken; a change of
    the architecture its checkpoints hold is refused in one line."""
    save_yaml(config(preset), tmp_path / "config.yaml")
    cfg = config(None, ["student.lr=1e-5", "teacher.epochs=20", "student.weight_decay=0"], resume=str(tmp_path))
    assert (cfg["student"]["lr"], cfg["teacher"]["epochs"], cfg["student"]["weight_decay"]) == (1e-5, 20, 0)
    with pytest.raises(ConfigError, match=rf"^--resume cannot change {model_key.split('=')[0]} "):
        config(None, [model_key], resume=str(tmp_path))


def test_a_method_that_reads_the_teacher_asks_for_one(tmp_path):
    table = tmp_path / "train.tsv"
    table.write_text("text\tlabel\ngood\tpos\nbad\tneg\n")
    argv = ["--config", "sst2", "data.name=local", f"data.train_file={table}", f"data.dev_file={table}",
            "student.arch=bilstm", "method.name=logit_mse", "--runs-dir", str(tmp_path / "runs")]
    with pytest.raises(KDError, match="this run needs a fine-tuned teacher"):  # logit_mse declares it reads logits
        run_stage("distill", "test", argv)
    assert not (tmp_path / "runs").exists()


def test_translation_and_lm_set_a_method_in_its_own_section():
    cfg = load_nlp_config(Namespace(config="lm", overrides=["methods.kd.alpha=0.25"], seed=None, resume=None))
    assert cfg["method"]["name"] == "kd" and cfg["methods"]["kd"] == {"alpha": 0.25, "temperature": 1.0}
    cfg = load_nlp_config(Namespace(config="multi30k", overrides=["method.name=seq_kd"], seed=None, resume=None))
    assert cfg["methods"]["seq_kd"] == {"beam_size": 4, "label_smoothing": 0.0}


@pytest.mark.parametrize("stage, argv, message", [
    ("train_teacher", ["--config", "sst2", "data.text_column=sentence"],
     "data.text_column='sentence' is not read by data.name=sst2 (it takes data.path); drop it, or use data.name=local, "
     "which reads it"),
    ("train_teacher", ["--config", "lm", "data.train_file=train.txt"],
     "data.train_file='train.txt' is not read by data.name=multi30k_en (it takes data.path); drop it, or use "
     "data.name=text_files, which reads it"),
])
def test_a_data_key_this_data_set_does_not_read_is_one_line(stage, argv, message, tmp_path):
    with pytest.raises(ConfigError) as error:
        run_stage(stage, "test", [*argv, "--runs-dir", str(tmp_path)])
    assert str(error.value) == message
    assert not any(tmp_path.iterdir())


def test_a_typo_in_a_preset_of_ones_own_names_the_key_meant(tmp_path):
    """A preset file is checked key by key against its task's defaults (its section of NLP/configs/default.yaml), as
    an override is, before anything is loaded or created."""
    preset = tmp_path / "mine.yaml"
    preset.write_text("task: classification\ndata:\n  name: trec\nstudent:\n  epoch: 1\n")
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", ["--config", str(preset), "--runs-dir", str(tmp_path / "runs")])
    assert str(error.value) == f"unknown config key 'student.epoch' in {preset}; did you mean 'student.epochs'?"
    preset.write_text("data:\n  name: trec\n")
    with pytest.raises(ConfigError, match=r"mine.yaml names no task: add task: classification, translation or "):
        run_stage("distill", "test", ["--config", str(preset), "--runs-dir", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def test_a_preset_of_ones_own_needs_only_what_it_changes():
    from argparse import Namespace
    from kd.nlp.scripts.launch import load_nlp_config, task_defaults

    cfg = load_nlp_config(Namespace(config="trec", overrides=[], seed=None, resume=None))
    defaults = task_defaults("classification")
    assert cfg["name"] == "trec" and defaults["name"] is None  # null: the preset file's name
    assert cfg["student"] == {**defaults["student"], "arch": "bilstm", "epochs": 5, "lr": 2.0e-3}
    assert cfg["teacher"] == {**defaults["teacher"], "epochs": 5} and cfg["methods"] == defaults["methods"]


def test_tinybert_settings_are_checked_with_the_config(tmp_path):
    """methods.tinybert's values are checked as the config is loaded, before data, teacher or run folder."""
    argv = ["--config", "sst2", "method.name=tinybert", "distill.mode=online", "--runs-dir", str(tmp_path)]
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", [*argv, "methods.tinybert.attention_heads=all"])
    assert str(error.value) == "methods.tinybert.attention_heads='all'; choose one of: none, mean"
    with pytest.raises(ConfigError, match=r"^methods.tinybert.feature_epochs=-1 must be a whole number >= 0$"):
        run_stage("distill", "test", [*argv, "methods.tinybert.feature_epochs=-1"])
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("override, message", [
    ("methods.tinybert.feature_epochs=1.5", "methods.tinybert.feature_epochs=1.5 must be a whole number"),
    ("methods.kd.temperature=abc", "methods.kd.temperature='abc' must be a number"),
    ("methods.kd.alpha=true", "methods.kd.alpha=True must be a number"),  # a bool is not a number here
])
def test_a_method_setting_of_the_wrong_type_is_one_line(override, message, tmp_path):
    """A value is checked against its method parameter's annotation (float, int, bool) as the config is loaded; an
    int is a float too (``methods.kd.temperature=2``)."""
    argv = ["--config", "sst2", "method.name=tinybert", "distill.mode=online", "--runs-dir", str(tmp_path)]
    with pytest.raises(ConfigError) as error:
        run_stage("distill", "test", [*argv, override])
    assert str(error.value) == message
    assert not any(tmp_path.iterdir())


def test_evaluate_dry_run_checks_the_checkpoint_and_evaluates_nothing(tmp_path, monkeypatch, capsys):
    """``evaluate --dry-run`` loads the config, the data and the checkpoint, then exits before the evaluation (for
    translation, before the beam search: tests/nlp/test_nlp_translation_kd.py)."""
    from kd.nlp.data import WordTokenizer
    from kd.nlp.model_zoo import save_nlp_model
    from kd.nlp.student_model import BiLSTMClassifier
    from kd.nlp.tasks import classification
    from kd.nlp.tokenizer_spec import tokenizer_spec

    table = tmp_path / "train.tsv"
    table.write_text("text\tlabel\ngood film\tpos\ndull film\tneg\n")
    tokenizer = WordTokenizer.build(["good film", "dull film"], min_freq=1)
    kwargs = {"vocab_size": len(tokenizer), "num_labels": 2, "embed_dim": 4, "hidden_size": 4}
    model = save_nlp_model(BiLSTMClassifier(**kwargs), tmp_path / "model.pt", "bilstm", kwargs,
                           {"main": tokenizer_spec(tokenizer)}, label_names=["neg", "pos"], data="local")

    def not_on_a_dry_run(*args, **kwargs):
        raise AssertionError("evaluate --dry-run evaluated the model")

    monkeypatch.setattr(classification, "logits_on", not_on_a_dry_run)
    argv = ["--config", "sst2", "data.name=local", f"data.train_file={table}", f"data.dev_file={table}",
            "student.arch=bilstm", "method.name=supervised", "--runs-dir", str(tmp_path / "runs"), "--dry-run"]
    with pytest.raises(SystemExit) as exit_info:
        run_stage("evaluate", "test", [*argv, f"evaluate.checkpoint={model}"])
    assert exit_info.value.code == 0 and "nothing was created" in capsys.readouterr().out
    with pytest.raises(MissingPathError, match="missing.pt"):
        run_stage("evaluate", "test", [*argv, f"evaluate.checkpoint={tmp_path / 'missing.pt'}"])
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flag, key", [("--checkpoint", "evaluate.checkpoint"), ("--teacher", "teacher.checkpoint")])
def test_evaluate_refuses_the_checkpoint_flags_naming_the_keys_of_every_domain(flag, key, tmp_path):
    """Vision's and RL's evaluate once took --checkpoint / --teacher; every evaluate reads the keys, and a user who
    types a flag gets the key in one line."""
    with pytest.raises(ConfigError) as error:
        run_stage("evaluate", "test", ["--config", "sst2", flag, "m.pt", "--runs-dir", str(tmp_path)])
    assert str(error.value) == f"{flag} was renamed to the config key {key}, as in every domain: pass {key}=m.pt"
    assert not any(tmp_path.iterdir())


def test_train_teacher_refuses_a_teacher_checkpoint(tmp_path):
    """train_teacher trains its teacher: a teacher.checkpoint given to it would be ignored, so it is refused."""
    with pytest.raises(ConfigError) as error:
        run_stage("train_teacher", "test", ["--config", "sst2", "teacher.checkpoint=t.pt", "--runs-dir", str(tmp_path)])
    assert str(error.value) == ("teacher.checkpoint is the trained teacher that distill and evaluate read; "
                                "train_teacher trains one from teacher.name or from scratch: drop teacher.checkpoint")
    assert not any(tmp_path.iterdir())
