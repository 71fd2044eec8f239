"""Bad input of the ordinary kind, through the scripts of every domain: each class of mistake ends in exactly
one ``error: ...`` line that says what is wrong and what to do, exit code 2, and nothing created (no run
folder) or overwritten (a refused ``--resume`` leaves its config.yaml as it was).

One parametrised test per class of bad input; the scripts run in this process (as ``main_entry`` runs them),
and a few of them again as real processes, so that no warning or traceback slips onto stderr either.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kd.common.utils.cli import main_entry
from kd.common.utils.config import load_config, load_yaml, save_yaml
from kd.nlp.scripts import distill as nlp_distill, evaluate as nlp_evaluate, train_teacher as nlp_teacher
from kd.nlp.scripts.launch import load_nlp_config
from kd.rl.scripts import distill as rl_distill, evaluate as rl_evaluate, train_teacher as rl_teacher
from kd.vision.scripts import distill as vision_distill, evaluate as vision_evaluate, train_teacher as vision_teacher
from kd.vision.scripts import specialists as vision_specialists

REPO = Path(__file__).resolve().parents[2]
SST2 = str(REPO / "NLP/configs/sst2.yaml")
VISION_DEFAULTS = REPO / "image-classification/configs/default.yaml"
RL_DEFAULTS = REPO / "reinforcement-learning/configs/default.yaml"
SENTENCES = [("a fine film", "pos"), ("dull and slow", "neg"), ("great fun", "pos"), ("not good", "neg")]


def nlp_config(preset: str, overrides: list[str] = ()) -> dict:
    """The config an NLP script resolves from ``preset`` and ``overrides`` (its task's defaults < preset <
    overrides)."""
    return load_nlp_config(argparse.Namespace(config=preset, overrides=list(overrides), seed=None, resume=None))


def run_script(module, argv, capfd) -> tuple[int, list[str]]:
    """Exit code and stderr lines of ``module.main(argv)`` run as its ``__main__`` does."""
    capfd.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main_entry(module.main, argv)
    return exit_info.value.code, capfd.readouterr().err.strip().splitlines()


def assert_one_line_and_nothing_created(code, lines, expected, runs: Path):
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), lines
    assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """What the cases read: local text tables, a vision checkpoint recorded for MNIST, an RL policy trained on
    CartPole, an NLP student fine-tuned on other labels, a language model and a translation transformer with 8
    positions with a Multi30k folder of 12-word sentences, and checkpoints cut short."""
    from kd.nlp.data import WordTokenizer
    from kd.nlp.model_zoo import save_nlp_model
    from kd.nlp.tokenizer_spec import tokenizer_spec
    from kd.nlp.student_model import BiLSTMClassifier
    from kd.nlp.teacher_model import TransformerSeq2Seq, build_gpt2_lm
    from kd.rl.teacher_model.build import build_policy
    from kd.rl.teacher_model.checkpoint import save_policy
    from kd.vision.checkpoints import save_vision_model
    from kd.vision.data.transforms import MNIST_STATS
    from kd.vision.model_registry import build_model

    root = tmp_path_factory.mktemp("inputs")
    out = {"root": root}
    for name, rows in (("train.tsv", SENTENCES), ("dev.tsv", SENTENCES[:2])):
        (root / name).write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    out["headerless"] = root / "headerless.tsv"
    out["headerless"].write_text("".join(f"{t}\t{y}\n" for t, y in SENTENCES))
    out["jsonl"] = root / "broken.jsonl"
    out["jsonl"].write_text(json.dumps({"text": "fine", "label": "pos"}) + "\n{text: unquoted}\n")
    out["mnist"] = save_vision_model(build_model("cnn", 10, 1, 28), root / "mnist_model.pt", "cnn", 10, (1, 28, 28),
                                     data="mnist", class_names=[f"{i} - digit" for i in range(10)],
                                     input_shape=[1, 28, 28], normalisation={"mean": list(MNIST_STATS[0]),
                                                                             "std": list(MNIST_STATS[1])})
    cartpole = {"name": "cartpole", "kwargs": {}}
    out["cartpole"] = save_policy(build_policy({"network": "actor_critic", "arch": {"hidden": [8]}}, cartpole),
                                  root / "cartpole_policy.pt", cartpole, algo="ppo")
    tokenizer = WordTokenizer.build([t for t, _ in SENTENCES], min_freq=1)
    kwargs = {"vocab_size": len(tokenizer), "num_labels": 2, "embed_dim": 4, "hidden_size": 4}
    out["nlp_student"] = save_nlp_model(BiLSTMClassifier(**kwargs), root / "nlp_model.pt", "bilstm", kwargs,
                                        {"main": tokenizer_spec(tokenizer)}, label_names=["negative", "positive"],
                                        data="local")
    out["sentences"] = root / "sentences.txt"
    out["sentences"].write_text("".join(f"{t}\n" for t, _ in SENTENCES))
    lm_kwargs = {"vocab_size": len(tokenizer), "n_layer": 1, "n_embd": 8, "n_head": 2, "n_positions": 8,
                 "pad_id": tokenizer.pad_token_id, "bos_id": tokenizer.bos_token_id, "eos_id": tokenizer.eos_token_id}
    out["lm_8_positions"] = save_nlp_model(build_gpt2_lm(**lm_kwargs), root / "lm_model.pt", "gpt2_lm", lm_kwargs,
                                           {"main": tokenizer_spec(tokenizer)})
    mt_kwargs = {"src_vocab_size": len(tokenizer), "tgt_vocab_size": len(tokenizer), "d_model": 8, "nhead": 2,
                 "num_encoder_layers": 1, "num_decoder_layers": 1, "dim_feedforward": 8, "max_length": 8,
                 "pad_id": tokenizer.pad_token_id}
    out["translator_8_positions"] = save_nlp_model(TransformerSeq2Seq(**mt_kwargs), root / "mt_model.pt",
                                                   "seq2seq_transformer", mt_kwargs,
                                                   {"source": tokenizer_spec(tokenizer),
                                                    "target": tokenizer_spec(tokenizer)})
    out["multi30k"] = root / "multi30k"
    out["multi30k"].mkdir()
    for split in ("train", "val", "test_2016_flickr"):
        for lang, words in (("de", "ein großer brauner hund läuft schnell über die grüne wiese"),
                            ("en", "a big brown dog runs fast across the green meadow")):
            with gzip.open(out["multi30k"] / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("".join(f"{words} {i} .\n" for i in range(4)))
    whole = out["mnist"].read_bytes()
    out["truncated"] = root / "truncated.pt"
    out["truncated"].write_bytes(whole[: len(whole) // 2])
    out["empty"] = root / "empty.pt"
    out["empty"].write_bytes(b"")
    return out


def local_data(files, train="train.tsv", dev="dev.tsv") -> list[str]:
    return ["data.name=local", f"data.train_file={files['root'] / train}", f"data.dev_file={files['root'] / dev}"]


# ------------------------------------------------------------------------------ a checkpoint that does not load
UNREADABLE = {
    "vision distill teacher.checkpoint": (vision_distill, lambda f: ["--config", "digits_cnn_mlp",
                                                                     f"teacher.checkpoint={f['truncated']}"]),
    "vision evaluate evaluate.checkpoint": (vision_evaluate, lambda f: [f"evaluate.checkpoint={f['empty']}"]),
    "nlp distill teacher.checkpoint": (nlp_distill, lambda f: ["--config", SST2, *local_data(f),
                                                               f"teacher.checkpoint={f['truncated']}"]),
    "nlp evaluate evaluate.checkpoint": (nlp_evaluate, lambda f: ["--config", SST2, *local_data(f),
                                                                  f"evaluate.checkpoint={f['empty']}"]),
    "rl train_teacher teacher.init": (rl_teacher, lambda f: [f"teacher.init={f['truncated']}"]),
    "rl distill teacher.checkpoint": (rl_distill, lambda f: [f"teacher.checkpoint={f['truncated']}"]),
    "rl evaluate evaluate.checkpoint": (rl_evaluate, lambda f: [f"evaluate.checkpoint={f['empty']}"]),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_a_truncated_or_empty_checkpoint(case, files, tmp_path, capfd):
    module, argv = UNREADABLE[case]
    code, lines = run_script(module, [*argv(files), "--runs-dir", str(tmp_path / "runs")], capfd)
    assert_one_line_and_nothing_created(code, lines, "checkpoint '", tmp_path / "runs")
    assert "cannot be read" in lines[0] and "copy it again or pass another .pt file a run wrote" in lines[0]


# ----------------------------------------------------------------------------------- an image that does not decode
BAD_IMAGES = {"not an image": "bad.png", "cut short": "bad.png", "a JPEG cut short": "bad.jpg"}


def image_folder(root: Path, bad: str) -> Path:
    """Two classes of 4 good PNGs and one JPEG, and in dog/ the file BAD_IMAGES[bad]."""
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            Image.effect_noise((12, 12), 40 + 20 * i).convert("RGB").save(root / label / f"{i}.png")
        Image.effect_noise((12, 12), 90).convert("RGB").save(root / label / "photo.jpg", quality=75)
    good = (root / "cat" / ("photo.jpg" if bad == "a JPEG cut short" else "0.png")).read_bytes()
    broken = b"<html>not found</html>" if bad == "not an image" else good[: len(good) // 2]
    (root / "dog" / BAD_IMAGES[bad]).write_bytes(broken)
    return root


@pytest.mark.parametrize("module", [vision_teacher, vision_distill], ids=["train_teacher", "distill"])
@pytest.mark.parametrize("bad", list(BAD_IMAGES))
def test_an_image_that_does_not_decode(module, bad, tmp_path, capfd):
    """A JPEG cut short passes PIL's verify (it reads no JPEG data) and failed mid-epoch; its missing end marker
    is caught with the rest, before the run folder."""
    root = image_folder(tmp_path / "images", bad)
    code, lines = run_script(module, ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path / "runs"),
                                      "data.name=imagefolder", f"data.root={root}", "data.image_size=8"], capfd)
    assert_one_line_and_nothing_created(code, lines, f"image '{root / 'dog' / BAD_IMAGES[bad]}' cannot be decoded",
                                        tmp_path / "runs")
    assert lines[0].endswith("set data.skip_bad_images=true to leave such files out")


def test_skip_bad_images_leaves_them_out_and_says_how_many(tmp_path, capsys):
    root = image_folder(tmp_path / "images", "not an image")
    rows = vision_teacher.main(["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path / "runs"), "teacher.epochs=1",
                                "data.name=imagefolder", f"data.root={root}", "data.image_size=[8, 12]",
                                "data.skip_bad_images=true"])
    assert "skipped 1 of 11 images that do not decode" in capsys.readouterr().out
    (row,) = rows.values()
    assert 0 <= row["acc"] <= 100


# ------------------------------------------------------------------------ a checkpoint trained on other data
MISMATCHED = {
    "vision: an MNIST teacher given to digits": (
        vision_distill, lambda f: ["--config", "digits_cnn_mlp", f"teacher.checkpoint={f['mnist']}"],
        "'{mnist}' was trained on other data than this run's digits: data set mnist vs digits; input shape "
        "1x28x28 vs 1x8x8", "set data.allow_checkpoint_mismatch=true to use it anyway"),
    "vision evaluate on digits": (
        vision_evaluate, lambda f: ["--config", "digits_cnn_mlp", f"evaluate.checkpoint={f['mnist']}"],
        "'{mnist}' was trained on other data", "set data.allow_checkpoint_mismatch=true to use it anyway"),
    "nlp: a student fine-tuned on other labels": (
        nlp_evaluate, lambda f: ["--config", SST2, *local_data(f), f"evaluate.checkpoint={f['nlp_student']}"],
        "'{nlp_student}' was fine-tuned on other data: labels ['negative', 'positive'] vs ['neg', 'pos']",
        "set data.allow_checkpoint_mismatch=true to use it anyway (label i of the checkpoint is read as label i "
        "of the data)"),
    "rl: a CartPole teacher given to Acrobot": (
        rl_distill, lambda f: [f"teacher.checkpoint={f['cartpole']}", "env.name=Acrobot-v1"],
        "teacher.checkpoint '{cartpole}' was trained on cartpole {{}}, not on this run's Acrobot-v1 {{}}",
        "set env.name=cartpole (and its env.kwargs), or pass a checkpoint trained on Acrobot-v1"),
}


@pytest.mark.parametrize("case", list(MISMATCHED))
def test_a_checkpoint_trained_on_other_data(case, files, tmp_path, capfd):
    module, argv, expected, advice = MISMATCHED[case]
    code, lines = run_script(module, [*argv(files), "--runs-dir", str(tmp_path / "runs")], capfd)
    assert_one_line_and_nothing_created(code, lines, expected.format(**files), tmp_path / "runs")
    assert advice in lines[0]


def test_the_mismatch_override_uses_the_checkpoint_anyway(files, tmp_path, capsys):
    rows = vision_evaluate.main(["--config", "digits_cnn_mlp", f"evaluate.checkpoint={files['mnist']}",
                                 "--runs-dir", str(tmp_path / "runs"), "data.allow_checkpoint_mismatch=true"])
    assert len(rows) == 1 and "warning: " in capsys.readouterr().out  # a 28x28 CNN runs on 8x8 digits: it pools


# ------------------------------------------------------------------------------ the hub, asked on an offline machine
@pytest.fixture
def unreachable_hub(monkeypatch):
    """The hub's endpoint on a closed local port: the one probe fails at once, as with no network."""
    from huggingface_hub import constants

    from kd.nlp.data.hub import hub_reachable

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    hub_reachable.cache_clear()
    yield
    hub_reachable.cache_clear()


@pytest.mark.parametrize("overrides, expected", [
    (lambda f: [*local_data(f), "teacher.name=bert-base-uncasd"],
     "could not fetch 'bert-base-uncasd' from the Hugging Face hub (the hub cannot be reached and the local cache has "
     "no copy); pass teacher.name=minilm"),
    (lambda f: ["data.path=null", "data.name=sst2"],
     "could not download 'glue/sst2' from the Hugging Face hub (the hub cannot be reached and the local cache has no "
     "copy); offline, pass data.path=FOLDER"),
], ids=["mistyped teacher.name", "data set download"])
def test_an_offline_hub_lookup_fails_at_once(overrides, expected, files, tmp_path, capfd, unreachable_hub):
    code, lines = run_script(nlp_teacher, ["--config", SST2, "--runs-dir", str(tmp_path / "runs"), *overrides(files)],
                             capfd)
    assert_one_line_and_nothing_created(code, lines, expected, tmp_path / "runs")


# ----------------------------------------------------------------------- inputs longer than a model's positions
LM = str(REPO / "NLP/configs/lm.yaml")
TOO_LONG = {
    "classification teacher": (nlp_teacher, lambda f: ["--config", SST2, *local_data(f), "data.max_length=600"],
                               "data.max_length=600 is above the positions the model has (the teacher's 512): set "
                               "data.max_length=512 or lower"),
    "a language model's checkpoint": (
        nlp_evaluate, lambda f: ["--config", LM, "data.name=text_files", f"data.train_file={f['sentences']}",
                                 f"data.dev_file={f['sentences']}", f"evaluate.checkpoint={f['lm_8_positions']}",
                                 "data.max_length=16"],
        "data.max_length=16 is above the positions the model has (the evaluated model's 8): set data.max_length=8"),
    "a translation checkpoint": (
        nlp_evaluate, lambda f: ["--config", "NLP/configs/multi30k.yaml", f"data.path={f['multi30k']}",
                                 f"evaluate.checkpoint={f['translator_8_positions']}", "data.max_length=16"],
        "data.max_length=16 is above the positions the model has (the evaluated model's 8): set data.max_length=8"),
}


@pytest.fixture
def no_loading_bar():
    """transformers' weight-loading bar (on stderr) off while a test loads MiniLM, so the error is stderr's one line."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    yield
    logging.enable_progress_bar()


@pytest.mark.parametrize("case", list(TOO_LONG))
def test_a_max_length_above_the_models_positions(case, files, tmp_path, capfd, no_loading_bar):
    """Refused before the run folder (it was an index error in the first batch that reached the limit)."""
    module, argv, expected = TOO_LONG[case]
    code, lines = run_script(module, [*argv(files), "--runs-dir", str(tmp_path / "runs")], capfd)
    assert_one_line_and_nothing_created(code, lines, expected, tmp_path / "runs")


# ------------------------------------------------------ a student key that the way its model is built does not read
def lm_on_8_positions(f) -> list[str]:
    return ["--config", LM, "data.name=text_files", f"data.train_file={f['sentences']}",
            f"data.dev_file={f['sentences']}", f"teacher.checkpoint={f['lm_8_positions']}", "data.max_length=8"]


def translator_on_8_positions(f) -> list[str]:
    return ["--config", "NLP/configs/multi30k.yaml", f"data.path={f['multi30k']}",
            f"teacher.checkpoint={f['translator_8_positions']}", "data.max_length=8"]


UNREAD_STUDENT_KEYS = {
    "student.config with a from-scratch teacher": (
        lm_on_8_positions, ["student.config={n_layer: 1}"],
        "student.config={n_layer: 1} is not read with a from-scratch teacher: it takes student.n_layer, "
        "student.n_embd, student.n_head, student.dropout, student.init; drop it, or give sizes as student.n_layer, "
        "student.n_embd, student.n_head, student.dropout"),
    "a size with a pretrained student.name": (
        lm_on_8_positions, ["student.name=distilgpt2", "student.n_layer=1"],
        "student.n_layer=1 is not read with student.name=distilgpt2 (a pretrained student, used as it is): it takes "
        "student.name; drop it, or set student.name=null to build the student from the teacher instead"),
    "translation: student.config with a from-scratch teacher": (
        translator_on_8_positions, ["student.config={encoder_layers: 1}"],
        "student.config={encoder_layers: 1} is not read with a from-scratch teacher: it takes student.d_model, "
        "student.nhead, student.num_encoder_layers, student.num_decoder_layers, student.dim_feedforward, "
        "student.dropout, student.init; drop it, or give sizes as student.d_model, student.nhead, "
        "student.num_encoder_layers, student.num_decoder_layers, student.dim_feedforward, student.dropout"),
}


@pytest.mark.parametrize("case", list(UNREAD_STUDENT_KEYS))
def test_a_student_key_its_model_does_not_read(case, files, tmp_path, capfd):
    """Language models and translation: refused before the run folder, and before student.name is fetched (the
    student was built by another of the three ways, the key silently ignored). The pretrained teacher's case, which
    needs a tiny GPT-2 folder, is in tests/nlp/test_nlp_pretrained_lm.py."""
    data, overrides, expected = UNREAD_STUDENT_KEYS[case]
    argv = [*data(files), *overrides, "--runs-dir", str(tmp_path / "runs")]
    code, lines = run_script(nlp_distill, argv, capfd)
    assert_one_line_and_nothing_created(code, lines, expected, tmp_path / "runs")


@pytest.mark.parametrize("overrides, expected", [
    (["student.arch=bilstm", "student.num_layers=2"],
     "student.num_layers=2 is not read by student.arch=bilstm (it takes student.embed_dim, student.lstm_hidden, "
     "student.min_freq); drop it, or use student.arch=small_bert, which reads it"),
    (["student.pooling=mean"],
     "student.pooling='mean' is not read by student.arch=small_bert (it takes student.num_layers, "
     "student.hidden_size, student.num_heads, student.intermediate_size, student.init); drop it, or use "
     "student.arch=pretrained, which reads it"),
], ids=["a small BERT size for the BiLSTM", "a pretrained student's pooling for the small BERT"])
def test_a_classification_student_key_its_arch_does_not_read(overrides, expected, files, tmp_path, capfd):
    """Another architecture's key set for student.arch was ignored; refused before anything is read (the teacher
    checkpoint named is not there)."""
    argv = ["--config", SST2, *local_data(files), "teacher.checkpoint=runs/t/model.pt", *overrides,
            "--runs-dir", str(tmp_path / "runs")]
    code, lines = run_script(nlp_distill, argv, capfd)
    assert_one_line_and_nothing_created(code, lines, expected, tmp_path / "runs")


# ---------------------------------------------------------------------------------------- local text files
@pytest.mark.parametrize("data, expected", [
    (["data.name=local", "data.train_file={root}/headerless.tsv", "data.dev_file={root}/headerless.tsv"],
     "data file '{root}/headerless.tsv' has no column 'text': its first row is ['a fine film', 'pos']; if that is its "
     "header, set data.text_column to one of those names; if the file has no header, give the columns by 0-based "
     "position, e.g. data.text_column=0 data.label_column=1"),
    (["data.name=local", "data.train_file={root}/headerless.tsv", "data.dev_file={root}/headerless.tsv",
      "data.text_column=0", "data.label_column=2"],
     "data file '{root}/headerless.tsv' line 1 has 2 column(s)"),
    (["data.name=local", "data.train_file={root}/broken.jsonl", "data.dev_file={root}/broken.jsonl"],
     "data file '{root}/broken.jsonl' line 2 is not JSON"),
    (["data.name=local", "data.train_file={root}/missing.csv", "data.dev_file={root}/dev.tsv"],
     "data file '{root}/missing.csv' does not exist"),
], ids=["headerless read by name", "a column that is not there", "a line that is not JSON", "a missing file"])
def test_a_local_text_file_that_does_not_read(data, expected, files, tmp_path, capfd):
    root = files["root"]
    code, lines = run_script(nlp_teacher, ["--config", SST2, "--runs-dir", str(tmp_path / "runs"),
                                           *[d.format(root=root) for d in data]], capfd)
    assert_one_line_and_nothing_created(code, lines, expected.format(root=root), tmp_path / "runs")


def test_the_advice_for_a_headerless_file_works_when_followed(files):
    from kd.nlp.tasks.classification import load_data

    cfg = nlp_config(SST2, [f"data.train_file={files['headerless']}", f"data.dev_file={files['headerless']}",
                            "data.name=local", "data.text_column=0", "data.label_column=1"])
    data = load_data(cfg)
    assert data.train_texts == [t for t, _ in SENTENCES] and data.label_names == ["neg", "pos"]


# ------------------------------------------------------------------------- --resume with a change it cannot take
def saved_run(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True)
    save_yaml(config, folder / "config.yaml")
    return folder


RESUMES = {
    "vision student.arch": (vision_distill,
                            lambda: load_config(REPO / "image-classification/configs/digits_cnn_mlp.yaml",
                                                                defaults=load_yaml(VISION_DEFAULTS)),
                            ["student.arch=cnn"], "--resume cannot change student.arch ('mlp' -> 'cnn')"),
    "vision student.batch_size": (vision_distill, lambda: load_config(None, defaults=load_yaml(VISION_DEFAULTS)),
                                  ["student.batch_size=32"], "--resume cannot change student.batch_size (None -> 32)"),
    "vision --seed": (vision_distill, lambda: load_config(None, defaults=load_yaml(VISION_DEFAULTS)), ["--seed", "7"],
                      "--resume cannot change seed (0 -> 7)"),
    "nlp data.train_file": (nlp_distill, lambda: nlp_config(SST2), ["data.train_file=other.tsv"],
                            "--resume cannot change data.train_file (None -> 'other.tsv')"),
    "nlp data.max_length": (nlp_distill, lambda: nlp_config(SST2), ["data.max_length=128"],
                            "--resume cannot change data.max_length (64 -> 128)"),
    "rl env.name": (rl_distill, lambda: load_config(None, ["teacher.checkpoint=t.pt"], defaults=load_yaml(RL_DEFAULTS)),
                    ["env.name=Acrobot-v1"], "--resume cannot change env.name ('CartPole-v1' -> 'Acrobot-v1')"),
}


@pytest.mark.parametrize("case", list(RESUMES))
def test_a_resume_that_would_change_what_the_run_was_made_with(case, tmp_path, capfd):
    module, config, overrides, expected = RESUMES[case]
    run = saved_run(tmp_path / "runs" / "run-1", config())
    before = (run / "config.yaml").read_bytes()
    code, lines = run_script(module, ["--resume", str(run), *overrides], capfd)
    assert code == 2 and lines == [lines[0]] and lines[0].startswith(f"error: {expected}"), lines
    drop = "--seed 7" if "--seed" in overrides else "that override"  # the flag, same line in every domain
    assert f"drop {drop}, or start a new run" in lines[0]
    assert (run / "config.yaml").read_bytes() == before and [p.name for p in run.iterdir()] == ["config.yaml"]


@pytest.mark.parametrize("case", ["vision --seed", "nlp data.train_file", "rl env.name"])
def test_a_preset_given_with_resume_is_refused_not_ignored(case, tmp_path, capfd):
    """A resumed run reads its own config.yaml: --config beside --resume would be silently ignored."""
    module, config, _, _ = RESUMES[case]
    run = saved_run(tmp_path / "runs" / "run-1", config())
    before = (run / "config.yaml").read_bytes()
    code, lines = run_script(module, ["--resume", str(run), "--config", "other.yaml"], capfd)
    assert code == 2 and lines == ["error: --config other.yaml is not read with --resume: the run continues from its "
                                   "own config.yaml; drop --config (key=value overrides change what it may)"], lines
    assert (run / "config.yaml").read_bytes() == before


# ------------------------------------------------------------------------- an environment kd.rl cannot run
@pytest.mark.parametrize("env, expected", [
    ("CartPol-v1", "unknown environment 'CartPol-v1': Environment `CartPol` doesn't exist. Did you mean: `CartPole`?"),
    ("FrozenLake-v1", "FrozenLake-v1 has Discrete(16) observations; kd.rl trains on vectors and images"),
    ("Blackjack-v1", "Blackjack-v1 has Tuple(Discrete(32), Discrete(11), Discrete(2)) observations"),
])
def test_an_environment_rl_cannot_train_on(env, expected, tmp_path, capfd):
    code, lines = run_script(rl_teacher, [f"env.name={env}", "--runs-dir", str(tmp_path / "runs")], capfd)
    assert_one_line_and_nothing_created(code, lines, expected, tmp_path / "runs")


# ---------------------------------------------------------------- a cache folder (distill.cache_dir) it cannot write
@pytest.mark.parametrize("domain", ["nlp", "nlp translation", "vision"])
def test_a_cache_folder_that_cannot_be_written(domain, files, tmp_path, capfd):
    """distill.cache_dir (offline classification, sequence-level KD's beam outputs, vision's soft labels) with a file
    in the way: one line naming the key, exit 2, before the run folder and before the teacher is read (the path given
    is not there; kd.common.utils.paths.require_writable_folder, its read-only case: test_common_paths.py)."""
    (tmp_path / "taken").write_text("a file where the cache folder should go")
    cache = tmp_path / "taken" / "cache"
    if domain == "nlp":
        module, argv = nlp_distill, ["--config", SST2, *local_data(files), "teacher.checkpoint=runs/t/model.pt"]
        folder = cache
    elif domain == "nlp translation":
        module, argv = nlp_distill, ["--config", "NLP/configs/multi30k.yaml", f"data.path={tmp_path}",
                                     "teacher.checkpoint=runs/t/model.pt", "method.name=seq_kd"]
        folder = cache
    else:
        module, argv = vision_distill, ["--config", "digits_cnn_mlp", "teacher.checkpoint=runs/t/model.pt",
                                        "distill.mode=offline"]
        folder = cache / "soft_labels"
    code, lines = run_script(module, [*argv, f"distill.cache_dir={cache}", "--runs-dir", str(tmp_path / "runs")],
                             capfd)
    assert_one_line_and_nothing_created(code, lines, "distill.cache_dir", tmp_path / "runs")
    assert lines == [f"error: distill.cache_dir: cannot write the folder {folder}: {tmp_path / 'taken'} is a file, "
                     "not a folder; set distill.cache_dir to a folder, or move the file"]


# ------------------------------------------------------------------------- a method's name or argument mistyped
# domain -> (script, its arguments, a method, its registry's kind, how the check names its methods, an argument)
METHOD_SECTIONS = {
    "vision": (vision_distill, lambda f: ["--config", "digits_cnn_mlp"], "dkd", "image-classification method",
               "image-classification", "alpha"),
    "nlp": (nlp_distill, lambda f: ["--config", SST2, *local_data(f)], "tinybert", "classification method",
            "text-classification", "temperature"),
    "rl": (rl_distill, lambda f: [], "kickstarting", "RL distillation method", "RL distillation", "weight_start"),
}


@pytest.mark.parametrize("mistake", ["method.name", "argument"])
@pytest.mark.parametrize("domain", list(METHOD_SECTIONS))
def test_a_mistyped_method_gets_the_same_line_in_every_domain(domain, mistake, files, tmp_path, capfd):
    """kd.common.utils.method_sections checks every domain's ``method.name`` and ``methods.<name>`` sections: a near
    miss is named in the same words everywhere, before the run folder exists."""
    module, argv, name, kind, what, argument = METHOD_SECTIONS[domain]
    typo = name[:-1] if mistake == "method.name" else argument[:-2] + argument[:-3:-1]  # dkd -> dk, alpha -> alpah
    override = f"method.name={typo}" if mistake == "method.name" else f"+methods.{name}.{typo}=1"
    code, lines = run_script(module, [*argv(files), override, "--runs-dir", str(tmp_path / "runs")], capfd)
    expected = (f"unknown method.name '{typo}' (did you mean '{name}'?); the {what} methods are: "
                if mistake == "method.name" else
                f"{kind} '{name}' takes no argument '{typo}'; did you mean '{argument}'?")
    assert_one_line_and_nothing_created(code, lines, expected, tmp_path / "runs")


# ------------------------------------------------------------------------------ a key the same in every domain
# domain -> (its train_teacher script, its distill script, the arguments both take)
DOMAINS = {
    "vision": (vision_teacher, vision_distill, lambda f: ["--config", "digits_cnn_mlp"]),
    "nlp": (nlp_teacher, nlp_distill, lambda f: ["--config", SST2, *local_data(f)]),
    "rl": (rl_teacher, rl_distill, lambda f: []),
}


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_threads_is_one_top_level_key_checked_alike_in_every_domain(domain, files, tmp_path, capfd):
    """``threads`` (torch CPU threads) is set by kd.common.utils.device.set_threads in every domain: a value torch
    cannot take is the same line everywhere, before the run folder exists."""
    _, module, argv = DOMAINS[domain]
    code, lines = run_script(module, [*argv(files), "threads=0", "--runs-dir", str(tmp_path / "runs")], capfd)
    assert_one_line_and_nothing_created(
        code, lines, "threads must be a whole number >= 1, or null for torch's default (one per core); got 0",
        tmp_path / "runs")


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_train_teacher_refuses_a_teacher_checkpoint_in_the_same_words_in_every_domain(domain, files, tmp_path,
                                                                                       capfd):
    """train_teacher trains its teacher, so a trained one given as ``teacher.checkpoint`` would be ignored: every
    domain refuses it with kd.common.utils.config.refuse_teacher_checkpoint."""
    module, _, argv = DOMAINS[domain]
    code, lines = run_script(module, [*argv(files), "teacher.checkpoint=t.pt", "--runs-dir", str(tmp_path / "runs")],
                             capfd)
    assert_one_line_and_nothing_created(code, lines, "teacher.checkpoint is the trained teacher that distill",
                                        tmp_path / "runs")
    assert "; train_teacher trains one from teacher." in lines[0] and lines[0].endswith(": drop teacher.checkpoint")


# ------------------------------------------------------------------------- a near miss in a preset of one's own
# script -> (a preset with a typo, the key it mistyped, the key meant); a model's training settings have the same
# names in vision and NLP (teacher.lr, student.epochs)
PRESET_TYPOS = {
    "vision distill": (vision_distill, "student:\n  epoch: 3\n", "student.epoch", "student.epochs"),
    "vision train_teacher": (vision_teacher, "teacher:\n  lr_rate: 0.1\n", "teacher.lr_rate", "teacher.lr"),
    "nlp distill": (nlp_distill, "task: classification\nstudent:\n  epoch: 3\n", "student.epoch", "student.epochs"),
    "nlp train_teacher": (nlp_teacher, "task: translation\nteacher:\n  lr_rate: 0.1\n", "teacher.lr_rate",
                          "teacher.lr"),
    "vision specialists": (vision_specialists, "specialists:\n  topn: 3\n", "specialists.topn", "specialists.top_n"),
    "rl train_teacher": (rl_teacher, "teacher:\n  ppo: {total_step: 1000}\n", "teacher.ppo.total_step",
                         "teacher.ppo.total_steps"),
    "rl distill": (rl_distill, "distill:\n  total_step: 1000\n", "distill.total_step", "distill.total_steps"),
}


@pytest.mark.parametrize("case", list(PRESET_TYPOS))
def test_a_near_miss_in_a_users_own_preset_file(case, tmp_path, capfd):
    """Every key of a preset is checked against the domain's defaults as an override's is (load_config strict): a
    typo in a file of one's own is one line naming the file and the key meant, not merged in unread."""
    module, text, typo, meant = PRESET_TYPOS[case]
    preset = tmp_path / "x.yaml"
    preset.write_text(text)
    code, lines = run_script(module, ["--config", str(preset), "--runs-dir", str(tmp_path / "runs")], capfd)
    assert_one_line_and_nothing_created(
        code, lines, f"unknown config key '{typo}' in {preset}; did you mean '{meant}'?", tmp_path / "runs")
    assert lines[0].endswith("?")


# ------------------------------------------------------------------ the same, as the processes a user starts
@pytest.mark.parametrize("module, argv, expected", [
    ("kd.vision.scripts.distill", ["--config", "digits_cnn_mlp", "teacher.checkpoint={truncated}"], "checkpoint '"),
    ("kd.rl.scripts.distill", ["teacher.checkpoint={cartpole}", "env.name=LunarLander-v3"], "teacher.checkpoint '"),
    ("kd.nlp.scripts.train_teacher", ["--config", SST2, "data.name=local", "data.train_file={root}/headerless.tsv",
                                      "data.dev_file={root}/headerless.tsv"], "data file '"),
])
def test_one_line_on_stderr_from_a_real_process(module, argv, expected, files, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", module, *[a.format(**files) for a in argv], "--runs-dir",
                             str(tmp_path / "runs")], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {expected}"), result.stderr
    assert not (tmp_path / "runs").exists()


