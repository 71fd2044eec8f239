"""Each vision method's own config section (``methods.<name>.<argument>``): default.yaml lists every constructor
argument of every method, ``method.name`` picks a method and only its section reaches it, the sections are
checked against the constructors, and method_table's rows are a method name or a variant of one. specialists reads
the same schema (its generalist the teacher, its own keys the specialists: section) and refuses its old keys. Every
vision script's --resume refuses a change to the lookahead settings, data.flip or data.crop_padding_mode."""
import argparse
import inspect
import re

import pytest

from kd.common.utils.config import load_yaml, save_yaml
from kd.common.utils.errors import ConfigError
from kd.vision.methods import METHODS
from kd.common.utils.method_sections import method_settings
from kd.vision.pipeline import DEFAULT_CONFIG, check_names, load_experiment_config
from kd.vision.scripts import method_table, specialists

BUILT_BY_THE_PIPELINE = {"teacher", "student", "num_classes", "image_shape"}


def args(*overrides, config="digits_cnn_mlp") -> argparse.Namespace:
    return argparse.Namespace(config=config, overrides=list(overrides), seed=None, resume=None)


def test_default_yaml_lists_every_argument_of_every_method_with_its_default():
    sections = load_yaml(DEFAULT_CONFIG)["methods"]
    ours = [n for n in METHODS.names() if METHODS.get(n).__module__.startswith("kd.vision.methods.")]
    assert set(ours) <= set(sections), set(ours) - set(sections)
    for name in ours:
        parameters = inspect.signature(METHODS.get(name)).parameters
        arguments = {k: p.default for k, p in parameters.items() if k not in BUILT_BY_THE_PIPELINE}
        assert set(sections[name]) == set(arguments), name
        for key, default in arguments.items():  # a weights mapping spells out the constructor's default terms
            if key != "weights" and not (key == "classes" and default == ()):
                assert sections[name][key] == default, (name, key)


def test_every_key_of_the_methods_section_has_a_comment():
    lines = DEFAULT_CONFIG.read_text().split("\nmethods:", 1)[1].split("\ndistill:", 1)[0].splitlines()
    keys = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert len(keys) > 30 and all("#" in line for line in keys), [line for line in keys if "#" not in line]


def test_switching_method_name_uses_that_methods_own_defaults():
    cfg = load_experiment_config(args("method.name=dkd"))  # the preset sets methods.kd.alpha=0.9
    assert method_settings(cfg, "dkd")["alpha"] == 1.0 and method_settings(cfg, "kd")["alpha"] == 0.9
    cfg = load_experiment_config(args("method.name=soft_label_ce", "methods.soft_label_ce.temperature=2"))
    assert method_settings(cfg, "soft_label_ce") == {"temperature": 2, "hard_weight": 0.0}
    cfg = load_experiment_config(args("methods.at.weights.at=500"))  # loss-term weights are an open mapping
    assert method_settings(cfg, "at")["weights"] == {"ce": 1.0, "at": 500}


def test_a_near_miss_in_a_preset_file_is_refused_and_open_sections_stay_free(tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text("student:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match=rf"^unknown config key 'student.epoch' in {preset}; did you mean "
                                          r"'student.epochs'\?$"):
        load_experiment_config(args(config=str(preset)))
    preset.write_text("student: {kwargs: {hidden: [32]}}\nmethods: {at: {weights: {at: 500}}}\n"
                      "run: {variants: {kd_t2: {method: kd, temperature: 2.0}}}\n")
    cfg = load_experiment_config(args(config=str(preset)))
    assert cfg["student"]["kwargs"] == {"hidden": [32]} and cfg["methods"]["at"]["weights"]["at"] == 500
    assert cfg["run"]["variants"]["kd_t2"] == {"method": "kd", "temperature": 2.0}


def test_a_section_key_the_constructor_does_not_take_names_the_key_meant(tmp_path):
    preset = tmp_path / "typo.yaml"
    preset.write_text("method: {name: dkd}\nmethods: {dkd: {wramup: 5}}\n")
    with pytest.raises(ConfigError, match=rf"^unknown config key 'methods.dkd.wramup' in {preset}; did you mean "
                                          r"'methods.dkd.warmup'\?$"):  # a preset's keys are checked as overrides are
        load_experiment_config(args(config=str(preset)))
    cfg = load_experiment_config(args("method.name=dkd", "+methods.dkd.wramup=5"))  # added on purpose: the constructor
    with pytest.raises(ConfigError, match=r"^image-classification method 'dkd' takes no argument 'wramup'; did you "
                                          r"mean 'warmup'\?$"):
        check_names(cfg)
    preset.write_text("method: {name: kd, kwargs: {alpha: 0.5}}\n")
    with pytest.raises(ConfigError, match="'method.kwargs.alpha' in .* was renamed to methods.<name>.<argument>"):
        load_experiment_config(args(config=str(preset)))


def table_config(*overrides) -> dict:
    return method_table.load_table_config(args(*overrides, config="cifar10_resnet32x4_resnet8x4"))[0]


def test_method_table_rows_are_methods_or_variants_of_one():
    cfg = table_config("methods.dkd.warmup=5", "run.variants.kd_t2={method: kd, temperature: 2.0}")
    assert method_table.row_method(cfg, "student") == ("supervised", {"label_smoothing": 0.0})
    assert method_table.row_method(cfg, "dkd")[1]["warmup"] == 5
    assert method_table.row_method(cfg, "kd_t2") == ("kd", {"temperature": 2.0, "alpha": 0.9})
    name, settings = method_table.row_method(cfg, "simkd_ce")  # a variant changes its method's section
    assert name == "simkd" and settings["weights"] == {"simkd": 1.0, "ce": 1.0} and settings["factor"] == 2
    with pytest.raises(ConfigError,
                       match=r"run.methods names 'kdd' \(did you mean 'kd'\?\), which is neither a method"):
        method_table.row_method(cfg, "kdd")
    with pytest.raises(ConfigError, match="was renamed to run.variants.<label>"):
        table_config("+methods.kd.name=kd")
    for old in ("train.threads", "train.num_threads"):  # threads is a top-level key, as in NLP and RL
        with pytest.raises(ConfigError, match=f"'{old}' was renamed to threads"):
            table_config(f"{old}=1")


@pytest.mark.parametrize("override, expected", [
    ("student.labelled_fraction=0.1", "student.labelled_fraction=0.1 is not read by method_table (every row trains "
                                      "on every label): drop it"),
    ("distill.mode=offline", "distill.mode='offline' is not read by method_table (each row reads its teacher online, "
                             "or the labelled views of run.views)"),
    ("distill.views=4", "distill.views=4 is not read by method_table (its key is run.views)"),
    ("student.label_smoothing=0.1", "student.label_smoothing=0.1 is not read by method_table (the student row's is "
                                    "methods.supervised.label_smoothing)"),
])
def test_a_key_of_distill_that_the_table_does_not_read_is_refused(override, expected):
    """The rows would silently train otherwise (every label, online): a one-line error instead."""
    with pytest.raises(ConfigError) as error:
        table_config(override)
    assert str(error.value).startswith(expected), error.value


@pytest.mark.parametrize("variant,expected", [
    ("{method: kdd, temperature: 2.0}", "run.variants.kd_t2.method: no method is called 'kdd' (did you mean 'kd'?); "
                                        "the image-classification methods are: at, dkd, "),
    ("{method: kd, temprature: 2.0}", "run.variants.kd_t2: image-classification method 'kd' takes no argument "
                                      "'temprature'; did you mean 'temperature'?"),
    ("{temperature: 2.0}", "run.variants.kd_t2 needs its method: {method: NAME, <argument>: value, ...}"),
])
def test_a_bad_method_table_variant_is_named_with_its_row(variant, expected):
    with pytest.raises(ConfigError) as error:
        table_config(f"run.variants.kd_t2={variant}", "run.methods=[kd_t2]")
    assert str(error.value).startswith(expected), error.value


def specialists_config(*overrides, config="specialists_digits", resume=None) -> dict:
    return specialists.load_specialists_config(argparse.Namespace(config=config, overrides=list(overrides), seed=None,
                                                                  resume=resume))


def test_specialists_reads_the_vision_schema_and_its_own_section():
    """The generalist is the teacher section, the specialists' training the student section, the script's own keys
    default.yaml's specialists: section (read only by specialists, as run: is only by method_table)."""
    cfg = specialists_config("teacher.checkpoint=g.pt", "student.epochs=2", "specialists.groups=[[3, 5], [0, 8]]",
                             "specialists.top_n=3", "methods.specialist.temperature=3")
    assert cfg["teacher"]["checkpoint"] == "g.pt" and cfg["student"]["epochs"] == 2
    assert cfg["specialists"] == {"groups": [[3, 5], [0, 8]], "n_groups": 3, "enrich": 0.5, "top_n": 3}
    assert cfg["methods"]["specialist"]["temperature"] == 3
    assert load_experiment_config(args())["specialists"] == load_yaml(DEFAULT_CONFIG)["specialists"]
    with pytest.raises(ConfigError, match=r"^specialists trains each specialist on every training label; drop "
                                          r"student.labelled_fraction \(it must be 1.0 here\)$"):
        specialists_config("student.labelled_fraction=0.5")


@pytest.mark.parametrize("override,expected", [
    ("specialists.groups=[]", "specialists.groups must be null (K-means groups) or a non-empty list of non-empty "
                              "lists of class ids, e.g. [[3, 5], [0, 8]]; got []"),
    ("specialists.groups=[[3, 5], []]", "specialists.groups must be null (K-means groups)"),
    ("specialists.groups=[[3, -1]]", "specialists.groups must be null (K-means groups)"),
    ("specialists.groups=[3, 5]", "specialists.groups must be null (K-means groups)"),
    ("specialists.groups=[[3, 5], [5, 8]]", "specialists.groups=[[3, 5], [5, 8]] names class 5 twice: each class "
                                            "belongs to one specialist at most"),
    ("specialists.n_groups=1", "specialists.n_groups must be a whole number >= 2, got 1"),
    ("specialists.n_groups=2.5", "specialists.n_groups must be a whole number >= 2, got 2.5"),
    ("specialists.enrich=1.0", "specialists.enrich must be null (plain shuffling) or a fraction strictly between 0 "
                               "and 1, got 1.0"),
    ("specialists.enrich=abc", "specialists.enrich must be null"),
    ("specialists.top_n=0", "specialists.top_n must be a whole number >= 1, got 0"),
    ("specialists.top_n=true", "specialists.top_n must be a whole number >= 1, got True"),
])
def test_the_specialists_section_is_checked_when_the_config_is_loaded(override, expected):
    with pytest.raises(ConfigError, match=rf"^{re.escape(expected)}"):
        specialists_config(override)


@pytest.mark.parametrize("override,expected", [
    ("specialists.groups=[[3, 10]]", "specialists.groups names class 10, but the data set's classes are 0 to 9"),
    ("specialists.groups=[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]", "specialists.groups has a group of all 10 classes"),
    ("specialists.n_groups=11", "specialists.n_groups=11 groups cannot be made of the data set's 10 classes"),
])
def test_specialists_groups_are_checked_against_the_data_before_the_run_folder(override, expected, tmp_path):
    with pytest.raises(ConfigError, match=rf"^{re.escape(expected)}"):
        specialists.main(["--config", "specialists_digits", "--runs-dir", str(tmp_path), override])
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("old,new", [
    ("generalist.checkpoint=g.pt", "teacher.checkpoint"), ("generalist.kwargs.channels=[8]", "teacher.kwargs"),
    ("generalist.epoch=3", "teacher (the generalist's section"), ("specialist.epochs=2", "student.epochs"),
    ("specialist.temperature=3", "methods.specialist.temperature"), ("groups=[[0, 1]]", "specialists.groups"),
    ("n_groups=2", "specialists.n_groups"), ("enrich=null", "specialists.enrich"), ("top_n=1", "specialists.top_n"),
])
def test_specialists_old_keys_are_refused_with_their_new_names(old, new):
    key = old.split("=")[0]
    with pytest.raises(ConfigError, match=rf"^config key '{re.escape(key)}' was renamed to {re.escape(new)}"):
        specialists_config(old)


OLD_PRESET = ("generalist: {arch: small_cnn, epochs: 8}\nspecialist: {arch: small_cnn, epochs: 6}\n"
              "groups: null\nn_groups: 3\n")


def test_specialists_old_schema_in_a_preset_and_in_a_resumed_runs_saved_config(tmp_path):
    """A preset and the saved config of a run made by an earlier version are refused with the new names (a resumed
    old run is refused too: its config.yaml, renamed, resumes it)."""
    preset = tmp_path / "mine.yaml"
    preset.write_text(OLD_PRESET)
    with pytest.raises(ConfigError, match=rf"^config key 'generalist.arch' in {preset} was renamed to teacher.arch$"):
        specialists_config(config=str(preset))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("seed: 0\n" + OLD_PRESET)
    with pytest.raises(ConfigError, match=rf"^config key 'generalist.arch' in {run / 'config.yaml'} \(a run of an "
                                          r"earlier version\) was renamed to teacher.arch$"):
        specialists_config(config=None, resume=str(run))


RESUME_LOADERS = {
    "pipeline": (lambda a: load_experiment_config(a), "digits_cnn_mlp"),
    "method_table": (lambda a: method_table.load_table_config(a)[0], "cifar10_resnet32x4_resnet8x4"),
    "specialists": (specialists.load_specialists_config, "specialists_digits"),
}


@pytest.mark.parametrize("script", list(RESUME_LOADERS))
@pytest.mark.parametrize("override,refused", [
    ("teacher.lookahead.every=5", "teacher.lookahead.every (0 -> 5)"),
    ("student.lookahead.base=0.9", "student.lookahead.base (0.95 -> 0.9)"),
    ("data.flip=alternate", "data.flip ('random' -> 'alternate')"),
    ("data.crop_padding_mode=reflect", "data.crop_padding_mode ('zeros' -> 'reflect')"),
])
def test_resume_cannot_change_the_lookahead_the_flip_or_the_crop_padding(tmp_path, script, override, refused):
    """last.pt's lookahead average was built with the sections' lookahead settings, the alternating flip's epoch-0
    draw decides every later epoch's flips, and the checkpoints and labelled views were made from crops padded as
    data.crop_padding_mode says: each vision script refuses a --resume that changes them."""
    load, preset = RESUME_LOADERS[script]
    save_yaml(load(args(config=preset)), tmp_path / "config.yaml")
    resume = argparse.Namespace(config=None, overrides=[override], seed=None, resume=str(tmp_path))
    with pytest.raises(ConfigError, match=rf"^--resume cannot change {re.escape(refused)}: the run's checkpoints"):
        load(resume)
    load(argparse.Namespace(config=None, overrides=[], seed=None, resume=str(tmp_path)))  # unchanged: resumes
