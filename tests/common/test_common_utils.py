"""Config overrides, registries, checkpoints, the one-line CLI errors and the spread over seeds."""
import gzip
import re
import subprocess
import sys

import pytest
import torch
import yaml
from torch import nn

from kd.common.utils.checkpoint import (atomic_save, checkpoint_kind, load_state_dict_checked, require_model,
                                        require_training_state, safe_load, save_model)
from kd.common.utils.cli import common_parser
from kd.common.utils.compressed import read_maybe_gzipped
from kd.common.utils.config import (apply_overrides, did_you_mean, load_config, load_run_config, parse_yaml,
                                    save_yaml, subset_size, to_yaml)
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import (CheckpointMismatchError, ConfigError, MissingPathError, UnknownNameError,
                                   UnreadableFileError)
from kd.common.utils.registry import Registry, check_arguments
from kd.common.utils.report import mean_spread, rows_by_settings, spread


def test_overrides_parse_yaml_values_and_reject_unknown_keys(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("student:\n  lr: 0.1\n  epochs: 3\ndata:\n  name: digits\n")
    config = load_config(preset, ["student.lr=0.05", "data.name=cifar10", "+student.extra=[1, 2]"])
    assert config == {"student": {"lr": 0.05, "epochs": 3, "extra": [1, 2]}, "data": {"name": "cifar10"}}
    with pytest.raises(ConfigError, match="unknown config key 'student.lrr'"):
        apply_overrides(config, ["student.lrr=1"])
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides(config, ["student.lr"])
    with pytest.raises(MissingPathError):
        load_config(tmp_path / "missing.yaml")


def test_a_near_miss_names_the_key_meant_and_a_far_one_lists_its_section():
    known = ["student.epochs", "student.lr", "data.train_subset", "data.name"]
    assert did_you_mean("student.epoch", known) == "; did you mean 'student.epochs'?"
    assert did_you_mean("data.train_subet", known) == "; did you mean 'data.train_subset'?"
    assert did_you_mean("teacher.lr", known) == "; did you mean 'student.lr'?"  # the same key of another section
    assert did_you_mean("student.momentum", known) == "; known: student.epochs, student.lr"


def test_the_key_meant_goes_by_its_last_part_its_own_section_first_then_its_home():
    """NLP's student's epochs were ``distill.epochs`` and its teacher's ``train.epochs``, now ``student.epochs`` and
    ``teacher.epochs``: the leaf ``epoch`` is close to ``epochs``, and of the keys ending so, the one in the section
    ``homes`` names wins over one whose whole name is closer."""
    known = ["teacher.epochs", "teacher.lr", "student.epochs", "student.lr", "student.arch", "distill.mode",
             "methods.kd.temperature", "methods.dkd.temperature", "methods.dkd.warmup"]
    homes = {"distill": "student", "train": "teacher"}
    assert did_you_mean("student.epoch", known, homes=homes) == "; did you mean 'student.epochs'?"  # its own section
    assert did_you_mean("distill.epoch", known, homes=homes) == "; did you mean 'student.epochs'?"
    assert did_you_mean("train.lr", known, homes=homes) == "; did you mean 'teacher.lr'?"  # the same leaf
    assert did_you_mean("train.epoch", known, homes=homes) == "; did you mean 'teacher.epochs'?"
    assert did_you_mean("train.epoch", known) == "; did you mean 'student.epochs'?"  # no home: the closest key
    assert did_you_mean("methods.dkd.temprature", known) == "; did you mean 'methods.dkd.temperature'?"
    assert did_you_mean("methods.dkd.wramup", known) == "; did you mean 'methods.dkd.warmup'?"
    with_seeds = ["seed", "run.seeds"]  # a near miss in its own section before the same leaf in another
    assert did_you_mean("run.seed", with_seeds) == "; did you mean 'run.seeds'?"


def test_a_far_miss_lists_its_siblings_a_subsection_once_and_at_most_a_dozen():
    known = ["student.lr", "student.arch.hidden", "student.arch.activation", "seed"]
    assert did_you_mean("student.momentum", known) == "; known: student.arch.*, student.lr"
    assert did_you_mean("optimiser.momentum", known) == "; known: seed, student.*"  # no such section: the top level
    many = [f"ppo.setting_{i:02d}" for i in range(20)]
    assert did_you_mean("ppo.zzz", many, "configs/default.yaml") == (
        f"; known: {', '.join(many[:12])}, ... (8 more; see configs/default.yaml)")


def test_presets_by_name_open_sections_and_renamed_keys(tmp_path):
    (tmp_path / "tiny.yaml").write_text("distill: {weights: {ce: 0.5, kd: 0.5}}\n")
    open_weights = {"config_dir": tmp_path, "open_sections": ["distill.weights"]}
    cfg = load_config("tiny", ["distill.weights.mse=0.5"], **open_weights)  # a name in config_dir; no '+' needed
    assert cfg == {"distill": {"weights": {"ce": 0.5, "kd": 0.5, "mse": 0.5}}}
    by_path = load_config(str(tmp_path / "tiny.yaml"), config_dir=tmp_path)
    assert by_path == load_config("tiny.yaml", config_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown config key 'distill.weight.mse'"):
        load_config("tiny", ["distill.weight.mse=0.5"], **open_weights)
    with pytest.raises(MissingPathError, match="config 'tinny' not found; did you mean 'tiny'. pass a YAML path or one "
                                               "of: tiny"):
        load_config("tinny", config_dir=tmp_path)
    with pytest.raises(MissingPathError, match="^config 'other' not found; pass a YAML path or one of: tiny$"):
        load_config("other", config_dir=tmp_path)
    renamed = {"distill.tau": "methods.<name>.temperature", "methods.*.kwargs": "methods.<name>.<argument>"}
    with pytest.raises(ConfigError, match="config key 'distill.tau' was renamed to methods.<name>.temperature"):
        load_config("tiny", ["+distill.tau=2"], config_dir=tmp_path, renamed=renamed)
    (tmp_path / "old.yaml").write_text("methods: {kd: {kwargs: {alpha: 1}}}\n")
    with pytest.raises(ConfigError, match=r"'methods.kd.kwargs.alpha' in .*old.yaml was renamed to methods.<name>"):
        load_config("old", config_dir=tmp_path, renamed=renamed)
    save_yaml(cfg, tmp_path / "config.yaml")  # a resumed run reads overrides the same way
    assert load_run_config(tmp_path, ["distill.weights.hidden=1"], open_sections=["distill.weights"])[
        "distill"]["weights"]["hidden"] == 1
    save_yaml({"student": {"config": {}}}, tmp_path / "config.yaml")  # a fixed section saved empty
    with pytest.raises(ConfigError, match=r"^--resume cannot change student.config.n_layer \(None -> 2\)"):
        load_run_config(tmp_path, ["+student.config.n_layer=2"], fixed=["student.config"],
                        open_sections=["student.config"])
    save_yaml({"distill": {"tau": 0.01}}, tmp_path / "config.yaml")  # a run folder of an earlier version
    with pytest.raises(ConfigError,
                       match=r"'distill.tau' in .*config.yaml \(a run of an earlier version\) was renamed"):
        load_run_config(tmp_path, renamed=renamed)


def test_a_strict_preset_is_checked_key_by_key_against_the_defaults(tmp_path):
    defaults = {"student": {"epochs": 3, "lr": 0.1, "config": {}}}
    mine = tmp_path / "mine.yaml"
    mine.write_text("student: {epoch: 5}\n")
    assert load_config(mine, defaults=defaults)["student"]["epoch"] == 5  # not strict: merged in unread
    with pytest.raises(ConfigError, match=r"^unknown config key 'student.epoch' in .*mine.yaml; did you mean "
                                          r"'student.epochs'\?$"):
        load_config(mine, defaults=defaults, strict=True)
    mine.write_text("student: {lr: 0.2, config: {n_layer: 2, rope_scaling: {factor: 2}}}\n")
    cfg = load_config(mine, defaults=defaults, open_sections=["student.config"], strict=True)  # any depth under it
    assert cfg == {"student": {"epochs": 3, "lr": 0.2, "config": {"n_layer": 2, "rope_scaling": {"factor": 2}}}}


def test_an_override_that_is_not_yaml_is_one_line_and_overrides_mix_with_flags():
    with pytest.raises(ConfigError, match=r"^override 'data.root=\.\.\.': its value is not YAML"):
        apply_overrides({"data": {"root": None}}, ["data.root=..."])
    args = common_parser("test").parse_args(["teacher.checkpoint=t.pt", "--seed", "2", "distill.data=student"])
    assert args.overrides == ["teacher.checkpoint=t.pt", "distill.data=student"] and args.seed == 2


def test_common_parser_refuses_the_flags_a_script_does_not_read_and_renamed_ones():
    parser = common_parser("test", takes=("runs_dir", "dry_run"), renamed={"--teacher": "teacher.checkpoint"})
    parser.add_argument("--runs")
    assert parser.parse_args(["--runs", "r", "--dry-run"]).dry_run
    assert "--config" not in parser.format_help() and "--teacher" not in parser.format_help()
    with pytest.raises(ConfigError, match=r"^--device and key=value overrides are not read by this script: drop "
                                          r"--device cuda a=1 'b=x y'; its options are --runs-dir, --dry-run, --runs$"):
        parser.parse_args(["a=1", "--device", "cuda", "b=x y"])
    with pytest.raises(ConfigError, match=r"^--teacher was renamed to the config key teacher.checkpoint, as in every "
                                          r"domain: pass teacher.checkpoint=\[t.pt,u.pt\]$"):
        parser.parse_args(["--teacher", "t.pt", "--teacher", "u.pt"])
    with pytest.raises(ValueError, match="unknown common flags"):
        common_parser("test", takes=("runs-dir",))


@pytest.mark.parametrize("content, message", [
    (b"text\tlabel\ngood: film\tpos\n", r"is not YAML \(line 1: found character '\\t' that cannot start any token\)"),
    (b"\x80\x02\x8a\x0a", "is not a text file"),
])
def test_a_config_that_is_not_yaml_is_one_line_naming_the_file(content, message, tmp_path):
    table = tmp_path / "train.tsv"
    table.write_bytes(content)
    expected = rf"^config '{re.escape(str(table))}' {message}; pass a YAML file of key: value lines$"
    with pytest.raises(ConfigError, match=expected):
        load_config(table)


def test_numbers_in_exponent_notation_are_numbers_in_files_and_overrides(tmp_path):
    (tmp_path / "preset.yaml").write_text("student: {lr: 3e-4, steps: 1e6, name: e5}\n")
    cfg = load_config(tmp_path / "preset.yaml", ["student.lr=1e-3"])
    assert cfg["student"] == {"lr": 0.001, "steps": 1e6, "name": "e5"}
    assert isinstance(load_config(tmp_path / "preset.yaml")["student"]["lr"], float)


@pytest.mark.parametrize("text, value", [
    ("010", 10), ("0o17", 15), ("0x1F", 31), ("-2", -2), ("1.", 1.0), (".5", 0.5), ("-.inf", float("-inf")),
    ("true", True), ("False", False), ("null", None),
    ("yes", "yes"), ("off", "off"), ("1:30", "1:30"), ("2026-12-03", "2026-12-03"), ("1_000", "1_000")])
def test_scalars_are_read_by_the_yaml_1_2_core_schema_in_files_and_overrides(text, value, tmp_path):
    """PyYAML's YAML 1.1 reads 010 as 8, yes/off as booleans, 1:30 as 90 and 2026-12-03 as a date."""
    (tmp_path / "preset.yaml").write_text(f"run: {{tag: {text}}}\n")
    assert load_config(tmp_path / "preset.yaml")["run"]["tag"] == value
    assert apply_overrides({"run": {"tag": "x"}}, [f"run.tag={text}"])["run"]["tag"] == value


def test_a_saved_config_reads_back_the_same_by_yaml_1_2_and_by_yaml_1_1():
    """config.yaml is read by --resume (YAML 1.2: parse_yaml) and may be by any YAML 1.1 reader (yaml.safe_load)."""
    config = {"strings": ["1e5", "0o17", "yes", "010", "2026-12-03", "1:30", ".5", "e5"],
              "values": [10, 1e-5, True, None, float("inf")]}
    text = to_yaml(config)
    assert parse_yaml(text) == config and yaml.safe_load(text) == config


def test_a_true_or_false_key_refuses_a_value_that_is_not_true_or_false(tmp_path):
    config = {"data": {"augment": True}}
    assert apply_overrides(config, ["data.augment=false"])["data"]["augment"] is False
    with pytest.raises(ConfigError, match=r"^override 'data.augment=off': data.augment is true or false, not 'off'$"):
        apply_overrides(config, ["data.augment=off"])
    (tmp_path / "mine.yaml").write_text("data: {augment: no}\n")
    with pytest.raises(ConfigError, match=r"^data.augment is true or false, not 'no' in .*mine.yaml$"):
        load_config(tmp_path / "mine.yaml", defaults=config, strict=True)


def test_registry_lists_choices_for_unknown_names():
    models = Registry("model")
    models.register("mlp")(lambda: "mlp")
    assert models.build("mlp") == "mlp"
    with pytest.raises(UnknownNameError, match="unknown model 'cnn'; choose one of: mlp"):
        models.get("cnn")


def test_registry_names_the_close_match_of_a_mistyped_name_and_none_of_a_far_one():
    models = Registry("model")
    for name in ("resnet8", "mlp", "cnn"):
        models.register(name)(lambda: None)
    models.register_family("torchvision", lambda rest: None)
    # difflib's ratio 2 * matched / total letters: 'mpl' / 'mlp' match 'm' and 'l', 2 * 2 / 6 = 0.67 >= the 0.6
    # cutoff; 'cnn' and 'resnet8' share no letter with 'mpl': 0.
    with pytest.raises(UnknownNameError) as error:
        models.get("mpl")
    assert str(error.value) == ("unknown model 'mpl' (did you mean 'mlp'?); choose one of: cnn, mlp, resnet8, "
                                "torchvision:<name>")
    # 'transformer' matches one letter of each: at best 2 * 1 / 14 = 0.14 ('mlp', 'cnn'), far below 0.6.
    with pytest.raises(UnknownNameError) as error:
        models.get("transformer")
    assert str(error.value) == "unknown model 'transformer'; choose one of: cnn, mlp, resnet8, torchvision:<name>"


def test_an_argument_annotated_float_int_or_bool_takes_only_such_a_value():
    methods = Registry("method")

    @methods.register("kd")
    def kd(teacher: object, temperature: float = 4.0, warmup: int = 0, hard: bool = False, stages: int | None = None,
           names: list | None = None):
        return temperature

    check_arguments(methods, "kd", supplied=["teacher"], teacher=None, temperature=2, warmup=3, hard=True,
                    stages=None, names=["a"])  # an int is a float; None where None is the default
    for setting, message in [({"temperature": "abc"}, "methods.kd.temperature='abc' must be a number"),
                             ({"temperature": True}, "methods.kd.temperature=True must be a number"),
                             ({"warmup": 2.5}, "methods.kd.warmup=2.5 must be a whole number"),
                             ({"warmup": False}, "methods.kd.warmup=False must be a whole number"),
                             ({"hard": 1}, "methods.kd.hard=1 must be true or false"),
                             ({"stages": "x"}, "methods.kd.stages='x' must be a whole number or null")]:
        with pytest.raises(ConfigError) as error:
            check_arguments(methods, "kd", supplied=["teacher"], section="methods.kd", teacher=None, **setting)
        assert str(error.value) == message
    with pytest.raises(ConfigError, match="^method 'kd': temperature='abc' must be a number$"):  # no section given
        check_arguments(methods, "kd", teacher=None, temperature="abc")


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    model = nn.Linear(3, 2)
    path = save_model(model, tmp_path / "m.pt", arch="linear", arch_kwargs={"in": 3, "out": 2}, classes=["a", "b"])
    state = safe_load(path)
    assert state["arch"] == "linear" and state["meta"]["classes"] == ["a", "b"]
    fresh = nn.Linear(3, 2)
    load_state_dict_checked(fresh, state["state_dict"])
    torch.testing.assert_close(fresh.weight, model.weight)
    with pytest.raises(CheckpointMismatchError, match="shape weight: checkpoint \\(2, 3\\) vs model \\(5, 3\\)"):
        load_state_dict_checked(nn.Linear(3, 5), state["state_dict"])
    with pytest.raises(CheckpointMismatchError, match="missing"):
        load_state_dict_checked(nn.Sequential(nn.Linear(3, 2)), state["state_dict"])
    with pytest.raises(MissingPathError):
        safe_load(tmp_path / "nope.pt")


def test_model_weights_and_training_state_are_told_apart_in_one_line(tmp_path):
    """last.pt (the engine's or an RL loop's resumable state) and model.pt (save_model's weights): one passed where
    the other is expected says what it is."""
    model = safe_load(save_model(nn.Linear(3, 2), tmp_path / "model.pt", arch="linear", arch_kwargs={}))
    engine_state = {"student": {}, "method": {}, "optimizer": {}, "epoch": 2, "global_step": 8, "torch_rng": None}
    loop_state = {"agent": {}, "iteration": 3, "steps": 384, "history": [], "rng": {}, "minutes": 0.5}
    assert [checkpoint_kind(c) for c in (model, engine_state, loop_state, {"w": 1}, [1])] == \
        ["model", "state", "state", "other", "other"]
    assert require_model(model, "model.pt") is model and require_training_state(loop_state, "last.pt") is loop_state
    for state in (engine_state, loop_state):
        with pytest.raises(CheckpointMismatchError) as error:
            require_model(state, "run/checkpoints/last.pt")
        assert str(error.value) == ("'run/checkpoints/last.pt' is a run's resumable training state (what --resume "
                                    "continues from), not model weights; pass the checkpoints/model.pt of that run")
    with pytest.raises(CheckpointMismatchError, match="'x.pt' is not a model checkpoint .*; pass a teacher"):
        require_model({"w": 1}, "x.pt", "pass a teacher")
    with pytest.raises(CheckpointMismatchError) as error:
        require_training_state(model, "run/checkpoints/last.pt")
    assert str(error.value) == ("'run/checkpoints/last.pt' holds model weights, not the training state --resume "
                                "continues from (checkpoints/last.pt); model weights are checkpoints/model.pt")
    with pytest.raises(CheckpointMismatchError, match="not a training state written by a kd run"):
        require_training_state({"w": 1}, "x.pt")


def test_atomic_save_leaves_no_temp_files(tmp_path):
    atomic_save({"x": torch.ones(2)}, tmp_path / "a.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_safe_load_refuses_arbitrary_objects(tmp_path):
    torch.save({"obj": object.__new__(Registry)}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        safe_load(tmp_path / "evil.pt")


def test_main_entry_prints_one_line_and_exits_non_zero():
    code = (
        "from kd.common.utils.cli import main_entry\n"
        "from kd.common.utils.errors import UnknownNameError\n"
        "def main(argv):\n    raise UnknownNameError(\"unknown model 'x'; choose one of: a, b\")\n"
        "main_entry(main)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown model 'x'; choose one of: a, b"


def test_prepare_model_channels_last_and_compile_keep_the_model_the_same(torch_compile_works):
    from kd.common.utils.device import fast_bf16, prepare_model
    from kd.common.utils.errors import KDError

    cpu = torch.device("cpu")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    x = torch.randn(2, 3, 8, 8)
    eager = net(x)
    keys = list(net.state_dict())
    assert prepare_model(net, cpu, channels_last=False) is net and net[0].weight.is_contiguous()
    prepare_model(net, cpu)                                  # auto: NHWC where bf16 is fast (CUDA, native-bf16 CPUs)
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last) == fast_bf16(cpu)
    prepare_model(net, cpu, channels_last=True)
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    compiled = prepare_model(net, cpu, compile=True)
    assert compiled is net and isinstance(compiled, nn.Sequential) and list(compiled.state_dict()) == keys
    torch.testing.assert_close(compiled(x), eager, rtol=1e-4, atol=1e-5)
    with pytest.raises(KDError, match="channels_last"):
        prepare_model(net, cpu, channels_last="yes")


def test_cuda_speed_settings_are_on_however_cuda_is_chosen(monkeypatch):
    """``--device auto`` (every script's default) on a GPU machine gets TF32 and cuDNN autotuning, as ``cuda`` does."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32
    cudnn.benchmark = cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        assert resolve_device("auto") == torch.device("cuda")
        assert cudnn.benchmark and cudnn.allow_tf32 and matmul.allow_tf32
    finally:
        cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = before


@pytest.mark.parametrize("capability, expected", [((7, 5), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_precision_is_bf16_only_on_gpus_that_compute_it_natively(monkeypatch, capability, expected):
    """A T4 (7.5) or V100 (7.0) emulates bf16, slower than fp32; Ampere (8.0) and newer compute it."""
    from kd.common.utils.device import resolve_precision

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert resolve_precision(torch.device("cuda"), "auto") == expected
    assert resolve_precision(torch.device("cuda"), "fp16") == "fp16"


def test_the_spread_over_seeds_is_the_sample_std():
    # 3 seeds at 460 / 470 / 480: squared deviations 100 + 0 + 100 over n - 1 = 2 -> sqrt(100) = 10
    # (the population std, over n = 3, would be 8.16); one run has no spread
    assert spread([460.0, 470.0, 480.0]) == pytest.approx(10.0)
    assert spread([97.04]) == 0.0


def test_one_seed_prints_its_value_alone_in_every_table():
    """mean ± std with the sample std, and for one seed the value alone: a std of one value is no spread, and
    "± 0.00" would read as one (vision's and RL's tables printed it, NLP's and the plots did not)."""
    assert mean_spread([460.0, 470.0, 480.0], "{:.1f}", "+-") == "470.0 +- 10.0"
    assert mean_spread([80.0, 82.0]) == "81.00 ± 1.41"
    assert mean_spread([97.04]) == "97.04"


def test_runs_of_one_label_with_other_settings_are_rows_of_their_own_named_by_what_differs():
    lr1, lr5 = {"student.lr": 0.1, "student.epochs": 3}, {"student.lr": 0.5, "student.epochs": 3}
    runs = [(("cifar", "kd"), lr1, "a"), (("cifar", "kd"), lr5, "b"), (("cifar", "kd"), lr1, "c"),
            (("cifar", "student"), lr1, "d"), (("mnist", "kd"), lr5, "e")]
    assert rows_by_settings(runs) == {("cifar", "kd (student.lr=0.1)"): ["a", "c"],
                                      ("cifar", "kd (student.lr=0.5)"): ["b"],
                                      ("cifar", "student"): ["d"], ("mnist", "kd"): ["e"]}
    tinybert = [(("sst2", "small_bert + tinybert"), {"methods.tinybert.hidden_weight": w, "methods.kd.alpha": a}, w)
                for w, a in ((0.1, 0.5), (1.0, 0.9))]  # the label's method loses its section, another's keeps it
    assert [label for _, label in rows_by_settings(tinybert)] == [
        "small_bert + tinybert (methods.kd.alpha=0.5, hidden_weight=0.1)",
        "small_bert + tinybert (methods.kd.alpha=0.9, hidden_weight=1.0)"]


@pytest.mark.parametrize("value", [0, -5, 2.5, "all", True])
def test_a_subset_size_that_is_not_a_whole_number_of_examples_is_refused(value):
    """0 meant all of the data in some domains and none in others, -5 all but five, 2.5 a traceback."""
    with pytest.raises(ConfigError, match=rf"^data.train_subset must be a whole number of examples >= 1, or null for "
                                          rf"all of them, not {re.escape(repr(value))}$"):
        subset_size({"train_subset": value}, "train_subset")
    assert subset_size({"train_subset": 3}, "train_subset") == 3 and subset_size({}, "train_subset") is None


def test_read_maybe_gzipped_reads_both_and_names_a_broken_gzip_file(tmp_path):
    plain, packed = tmp_path / "a.txt", tmp_path / "a.txt.gz"
    plain.write_bytes(b"one\ntwo\n")
    packed.write_bytes(gzip.compress(b"one\ntwo\n"))
    assert read_maybe_gzipped(plain) == read_maybe_gzipped(packed) == b"one\ntwo\n"
    for broken, content in (("cut.gz", packed.read_bytes()[:-12]), ("page.gz", b"<html>404</html>")):
        (tmp_path / broken).write_bytes(content)
        with pytest.raises(UnreadableFileError, match=rf"^'{tmp_path / broken}' is not a complete gzip file \(.+\); "
                                                      r"download or compress it again$"):
            read_maybe_gzipped(tmp_path / broken)
