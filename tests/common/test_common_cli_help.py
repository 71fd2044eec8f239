"""``--help`` and ``--dry-run`` work for every script: each script module of every domain (and each benchmark
script) prints its usage and exits 0 (a "%" in a help string, for one, makes argparse's formatting raise instead);
with ``--dry-run`` each one checks its inputs, prints the resolved config as YAML and exits 0 having created
nothing."""
import importlib
import json
import pkgutil
from pathlib import Path

import pytest
import yaml

from kd.common.utils.cli import DRY_RUN_HEADER, main_entry

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def script_modules() -> list[str]:
    """Every module of the domains' ``scripts`` packages that has a ``main`` (launch.py is shared plumbing)."""
    names = []
    for package in ("kd.vision.scripts", "kd.nlp.scripts", "kd.rl.scripts"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            if hasattr(module, "main"):
                names.append(module.__name__)
    return names


def benchmark_scripts() -> list[str]:
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if "def main(" in p.read_text())


@pytest.mark.parametrize("name", script_modules())
def test_help_of_every_script(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(name).main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith("usage: ") and "--help" in out


@pytest.mark.parametrize("name", benchmark_scripts())
def test_help_of_every_benchmark(name, capsys, load_benchmark):
    module = load_benchmark(name)  # tests/conftest.py
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("usage: ")


def test_every_domain_has_its_scripts_covered():
    names = script_modules()
    for expected in ("kd.vision.scripts.distill", "kd.nlp.scripts.evaluate", "kd.rl.scripts.evaluate"):
        assert expected in names
    assert "kd.nlp.scripts.launch" not in names


# ------------------------------------------------------------------------------------------------- --dry-run
SENTENCES = [("a fine film", "pos"), ("dull and slow", "neg"), ("great fun", "pos"), ("not good", "neg")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """What the scripts read: a digits checkpoint, a CartPole policy, a local text table with a BiLSTM student
    for it, and finished run folders of each domain for the report scripts."""
    from kd.common.utils.config import load_yaml
    from kd.nlp.data import WordTokenizer
    from kd.nlp.model_zoo import save_nlp_model
    from kd.nlp.tokenizer_spec import tokenizer_spec
    from kd.nlp.student_model import BiLSTMClassifier
    from kd.rl.teacher_model.build import build_policy
    from kd.rl.teacher_model.checkpoint import save_policy
    from kd.vision.checkpoints import data_record, save_vision_model
    from kd.vision.data import build_data
    from kd.vision.model_registry import build_model
    from kd.vision.pipeline import DEFAULT_CONFIG

    root = tmp_path_factory.mktemp("inputs")
    digits = build_data(load_yaml(DEFAULT_CONFIG)["data"])
    out = {"digits_model": str(save_vision_model(build_model("cnn", 10, 1, 8), root / "digits.pt", "cnn", 10,
                                                 digits.image_shape, **data_record(digits)))}
    cartpole = {"name": "CartPole-v1", "kwargs": {}}
    out["policy"] = str(save_policy(build_policy({"network": "actor_critic", "arch": {"hidden": [8]}}, cartpole),
                                    root / "policy.pt", cartpole, algo="ppo"))
    for name, rows in (("train.tsv", SENTENCES), ("dev.tsv", SENTENCES[:2])):
        (root / name).write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    out["train"], out["dev"] = str(root / "train.tsv"), str(root / "dev.tsv")
    tokenizer = WordTokenizer.build([t for t, _ in SENTENCES], min_freq=1)
    kwargs = {"vocab_size": len(tokenizer), "num_labels": 2, "embed_dim": 4, "hidden_size": 4}
    out["nlp_model"] = str(save_nlp_model(BiLSTMClassifier(**kwargs), root / "nlp_model.pt", "bilstm", kwargs,
                                          {"main": tokenizer_spec(tokenizer)}, label_names=["neg", "pos"],
                                          data="local"))
    for folder, config, final in (("vision_run", None, {"test_acc": 50.0}),
                                  ("nlp_run", {"task": "classification", "name": "local"}, {"model": "student"}),
                                  ("rl_run", {"env": cartpole, "seed": 1, "teacher": {"algo": "ppo"}},
                                   {"policy_parameters": 4_610, "teacher_return_mean": 500.0})):
        (root / folder).mkdir()
        (root / folder / "metrics.json").write_text(json.dumps({"history": [], "final": final}))
        if config:
            (root / folder / "config.yaml").write_text(yaml.safe_dump(config))
        out[folder] = str(root / folder)
    return out


NLP_LOCAL = ["--config", "sst2", "data.name=local", "data.train_file={train}", "data.dev_file={dev}",
             "student.arch=bilstm", "method.name=supervised"]
TABLE = ["data.name=digits", "data.eval_batch_size=64", "teacher.arch=cnn", "student.arch=mlp",
         "run.methods=[student, kd]"]
DRY_RUNS = {
    "kd.vision.scripts.train_teacher": ["--config", "digits_cnn_mlp"],
    "kd.vision.scripts.distill": ["--config", "digits_cnn_mlp", "method.name=dkd", "distill.transfer_set=labelled",
                                 "teacher.checkpoint={digits_model}"],
    "kd.vision.scripts.compare": ["--config", "digits_cnn_mlp"],
    "kd.vision.scripts.quickstart": [],
    "kd.vision.scripts.evaluate": ["evaluate.checkpoint={digits_model}"],
    "kd.vision.scripts.method_table": TABLE,
    "kd.vision.scripts.lr_sweep": [*TABLE, "--lrs", "0.1", "0.2"],
    "kd.vision.scripts.specialists": ["--config", "specialists_digits", "teacher.arch=cnn",
                                      "teacher.checkpoint={digits_model}", "specialists.top_n=3"],
    "kd.vision.scripts.report": ["--runs", "{vision_run}"],
    "kd.vision.scripts.export": ["{digits_model}"],
    "kd.nlp.scripts.train_teacher": NLP_LOCAL,
    "kd.nlp.scripts.distill": NLP_LOCAL,
    "kd.nlp.scripts.evaluate": [*NLP_LOCAL, "evaluate.checkpoint={nlp_model}"],
    "kd.nlp.scripts.report": ["--runs", "{nlp_run}"],
    "kd.rl.scripts.train_teacher": ["--config", "cartpole"],
    "kd.rl.scripts.distill": ["teacher.checkpoint={policy}"],
    "kd.rl.scripts.evaluate": ["evaluate.checkpoint={policy}", "evaluate.episodes=1"],
    "kd.rl.scripts.report": ["--runs", "{rl_run}"],
}


def test_every_script_has_a_dry_run_case():
    assert sorted(DRY_RUNS) == sorted(script_modules())


@pytest.mark.parametrize("name", sorted(DRY_RUNS))
def test_dry_run_checks_prints_the_config_and_creates_nothing(name, inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written to the working directory would show up here
    runs = tmp_path / "runs"
    runs.mkdir()  # the scripts must not make it hold anything
    writes_no_run_folder = name == "kd.vision.scripts.export"  # it writes beside its input: no --runs-dir
    argv = [a.format(**inputs) for a in DRY_RUNS[name]] + ([] if writes_no_run_folder else ["--runs-dir", str(runs)])
    argv.append("--dry-run")
    with pytest.raises(SystemExit) as exit_info:
        main_entry(importlib.import_module(name).main, argv)
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    text, last = out.rstrip("\n").rsplit("\n", 1)
    assert last == "dry run: the config, data and checkpoints passed every check; nothing was created"
    resolved = yaml.safe_load(text.split(DRY_RUN_HEADER + "\n", 1)[1])
    assert isinstance(resolved, dict) and resolved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"] and not any(runs.iterdir())
    assert not (Path(inputs["digits_model"]).parent / "export").exists()
    if name == "kd.vision.scripts.distill":  # the DKD run gets DKD's own alpha, not the KD preset's
        assert resolved["method"]["name"] == "dkd" and resolved["methods"]["dkd"]["alpha"] == 1.0
    if name == "kd.vision.scripts.specialists":  # the generalist is the teacher; the script's own keys its section
        assert resolved["teacher"]["checkpoint"] == inputs["digits_model"] and resolved["specialists"]["top_n"] == 3
