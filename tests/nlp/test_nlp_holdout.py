"""The held-out part of a text-classification training set (``data.holdout``): a stratified split drawn by the run's
seed, disjoint from the training part and together the whole set (less the held-out copies of sentences the
training part also holds); what the run builds from the training set (the
augmented copies, the teacher-logits cache) built from the training part alone and named by the split; holdout_acc
beside dev_acc in every evaluation, in metrics.json and in the final table; its config errors one line before any run
folder; fixed on --resume; and data.holdout=0 the run as it was (the ``workspace`` teacher of tests/nlp/conftest.py)."""
import json
import math
import random
from argparse import Namespace
from collections import Counter

import pytest

from kd.common.utils.config import save_yaml
from kd.common.utils.errors import ConfigError
from kd.nlp.data.classification import TextClassificationData
from kd.nlp.scripts import distill, evaluate, train_teacher
from kd.nlp.scripts.launch import load_nlp_config
from kd.nlp.tasks.classification import load_data, transfer_set, transfer_set_settings
from kd.nlp.tasks.teacher_cache import teacher_cache_path


def config(overrides=(), preset="sst2", resume=None) -> dict:
    return load_nlp_config(Namespace(config=preset, overrides=list(overrides), seed=None, resume=resume))


def table(folder, name, rows):
    path = folder / name
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    return path


def local_data(folder, train_rows, dev_rows=(("good", "pos"), ("bad", "neg"))):
    return ["data.name=local", f"data.train_file={table(folder, 'train.tsv', train_rows)}",
            f"data.dev_file={table(folder, 'dev.tsv', dev_rows)}"]


def half_up(x: float) -> int:
    """x rounded to the nearest integer, halves up (what the split holds out of each label: round(fraction * n))."""
    return math.floor(x + 0.5)


def three_labels(n=300, seed=0):
    """``n`` examples of 3 labels in unequal shares (60 %, 30 %, 10 %), each sentence unique."""
    rng = random.Random(seed)
    labels = rng.choices([0, 1, 2], weights=[6, 3, 1], k=n)
    return TextClassificationData([f"sentence {i}" for i in range(n)], labels, ["dev"], [0], ["a", "b", "c"])


def test_a_held_out_copy_of_a_sentence_the_training_part_holds_is_left_out(capsys):
    """SST-2 repeats 371 sentences; a split of examples put 36 of seed 0's 3,367 held-out ones in both parts, where
    they scored as sentences the model trained on. The training part is what the draw leaves, as before."""
    texts = ["a repeated line"] * 40 + [f"unique {i}" for i in range(60)]
    data = TextClassificationData(texts, [0] * 50 + [1] * 50, ["dev"], [0], ["a", "b"])
    split = data.split_holdout(0.2, seed=0)
    assert len(split.train_texts) == 80 and split.train_texts.count("a repeated line") > 0
    assert not set(split.holdout_texts) & set(split.train_texts)
    left_out = 20 - len(split.holdout_texts)
    assert 0 < left_out == 40 - split.train_texts.count("a repeated line")  # the held-out copies, and only those
    assert (f"data.holdout: {left_out} of the 20 held-out examples are left out, their sentences also being in the "
            f"training part; {20 - left_out} held out") in capsys.readouterr().out


def test_a_split_whose_every_drawn_sentence_is_also_trained_on_is_one_line(capsys):
    data = TextClassificationData(["same"] * 10 + ["other"] * 10, [0] * 10 + [1] * 10, ["dev"], [0], ["a", "b"])
    with pytest.raises(ConfigError, match=r"^data.holdout=0.2 holds out no sentence that the training part does not "
                                          r"also hold: raise data.holdout, or set data.holdout=0$"):
        data.split_holdout(0.2, seed=0)
    assert capsys.readouterr().out == ""  # the error alone, no line before it


def test_the_split_is_stratified_disjoint_and_covers_the_training_set():
    data = three_labels()
    split = data.split_holdout(0.2, seed=0)
    whole = Counter(zip(data.train_texts, data.train_labels))
    train, held = Counter(zip(split.train_texts, split.train_labels)), Counter(zip(split.holdout_texts,
                                                                                   split.holdout_labels))
    assert not set(train) & set(held) and train + held == whole  # disjoint; together the whole set, labels kept
    per_label = Counter(data.train_labels)
    assert Counter(split.holdout_labels) == {c: half_up(0.2 * n) for c, n in per_label.items()}  # 20 % of each label
    assert split.train_texts == [t for t in data.train_texts if t not in set(split.holdout_texts)]  # the file order
    assert (split.dev_texts, split.label_names) == (data.dev_texts, data.label_names)


def test_the_seed_decides_the_split():
    data = three_labels()
    same, again = data.split_holdout(0.2, seed=0), data.split_holdout(0.2, seed=0)
    assert same.holdout_texts == again.holdout_texts and same.train_texts == again.train_texts
    assert set(data.split_holdout(0.2, seed=1).holdout_texts) != set(same.holdout_texts)
    assert data.split_holdout(0, seed=0) is data  # off: the data as it is


def test_the_split_is_the_seeds_whatever_the_model(tmp_path):
    """Through the task's loader: the config's seed draws it, after data.train_subset; the models play no part."""
    rows = [(f"w{i} good", "pos") if i % 3 else (f"w{i} bad", "neg") for i in range(60)]
    data = local_data(tmp_path, rows)
    teacher = load_data(config([*data, "data.holdout=0.25", "teacher.name=bert-base-uncased"]))
    student = load_data(config([*data, "data.holdout=0.25", "student.arch=bilstm", "method.name=supervised"]))
    assert teacher.holdout_texts == student.holdout_texts and len(teacher.holdout_texts) == 15
    assert load_data(config([*data, "data.holdout=0.25", "seed=1"])).holdout_texts != teacher.holdout_texts
    subset = load_data(config([*data, "data.holdout=0.25", "data.train_subset=40"]))
    assert len(subset.train_texts) + len(subset.holdout_texts) == 40  # a fraction of the subset


def test_holdout_zero_is_the_run_as_before(tmp_path):
    """data.holdout=0: the same training rows, nothing held out, and the teacher-logits cache keeps its name (the
    settings that name it do not mention the holdout)."""
    rows = [(f"w{i} good", "pos") if i % 2 else (f"w{i} bad", "neg") for i in range(20)]
    data = local_data(tmp_path, rows)
    cfg = config([*data, "data.holdout=0"])
    assert load_data(cfg).train_texts == [t for t, _ in rows] and load_data(cfg).holdout_texts == []
    before = config(data)
    del before["data"]["holdout"]  # a config of the version before data.holdout
    assert transfer_set_settings(cfg) == transfer_set_settings(before)


def test_the_cache_name_changes_with_the_split(tmp_path):
    def cache(*overrides):
        cfg = config([f"distill.cache_dir={tmp_path}", *overrides])
        return teacher_cache_path(cfg, None, transfer_set_settings(cfg), "teacher_logits.pt")

    names = {cache(), cache("data.holdout=0.1"), cache("data.holdout=0.2"), cache("data.holdout=0.1", "seed=1")}
    assert len(names) == 4
    assert cache("seed=1") == cache()  # without a holdout (or subset) every seed shares the labelling, as before


def test_augmented_copies_come_from_the_training_part_only(tmp_path):
    """Every word of every sentence is its own; with p_swap=1 each augmented word is drawn from the source
    sentences' words: none may be a held-out sentence's."""
    rows = [(f"u{i} v{i}", "pos" if i % 2 else "neg") for i in range(40)]
    cfg = config([*local_data(tmp_path, rows), "data.holdout=0.25", "distill.augment.copies=3",
                  "distill.augment.p_mask=0", "distill.augment.p_swap=1.0"])
    data = load_data(cfg)
    texts, labels = transfer_set(data, None, cfg["distill"]["augment"])
    augmented = texts[len(data.train_texts):]
    assert augmented and texts[:len(data.train_texts)] == data.train_texts
    held_words = {w for t in data.holdout_texts for w in t.split()}
    assert not held_words & {w for t in augmented for w in t.split()}
    assert {w for t in augmented for w in t.split()} <= {w for t in data.train_texts for w in t.split()}


@pytest.mark.parametrize("value", ["-0.1", "1", "1.5", "true", "half"])
def test_a_holdout_out_of_range_is_one_line(value, sst2_refusal):
    message = f"data.holdout must be a fraction in [0, 1) of the training examples (0: off), got "
    for script in (train_teacher, distill):
        assert sst2_refusal(script, [f"data.holdout={value}"]).startswith(f"error: {message}")


@pytest.mark.parametrize("rows, holdout, message", [
    ([("good", "pos")] * 10 + [("bad", "neg")], 0.5,
     "data.holdout=0.5 leaves label 'neg' no training example (all 1 of its examples held out): lower data.holdout, "
     "or use more training data"),
    ([("good", "pos"), ("bad", "neg")] * 2, 0.1,
     "data.holdout=0.1 holds out no example of the 4 training examples: raise data.holdout, or set data.holdout=0"),
])
def test_a_split_the_data_cannot_give_is_one_line(rows, holdout, message, tmp_path, sst2_refusal):
    data = local_data(tmp_path, rows)
    for script in (train_teacher, distill):
        assert sst2_refusal(script, [*data, f"data.holdout={holdout}"]) == f"error: {message}"


def test_resume_cannot_change_the_holdout(tmp_path):
    save_yaml(config(["data.holdout=0.1"]), tmp_path / "config.yaml")
    assert config([], preset=None, resume=str(tmp_path))["data"]["holdout"] == 0.1
    with pytest.raises(ConfigError, match=r"^--resume cannot change data.holdout "):
        config(["data.holdout=0.2"], preset=None, resume=str(tmp_path))
    saved = config()
    del saved["data"]["holdout"]  # a run of the version before data.holdout resumes without one
    save_yaml(saved, tmp_path / "config.yaml")
    assert config([], preset=None, resume=str(tmp_path))["data"]["holdout"] == 0.0


def metrics(run_folder):
    (run,) = run_folder.iterdir()
    return json.loads((run / "metrics.json").read_text()), (run / "summary.md").read_text()


WORDS = {1: ["good", "great"], 0: ["bad", "awful"]}


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    """A tiny BERT (the ``workspace`` one of tests/nlp/conftest.py, smaller data) fine-tuned by train_teacher for 2
    epochs on 200 sentences with data.holdout=0.1: ``{"root", "data", "final", "labels"}``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    root = tmp_path_factory.mktemp("nlp_holdout")
    rng = random.Random(0)
    neutral = [f"w{i}" for i in range(20)]
    labels = []
    for name, n in (("train.tsv", 200), ("dev.tsv", 40)):
        rows = []
        for _ in range(n):
            label = rng.randint(0, 1)
            words = rng.choices(neutral, k=4)
            words.insert(rng.randint(0, 4), rng.choice(WORDS[label]))
            rows.append((" ".join(words), label))
        labels = labels or [y for _, y in rows]
        table(root, name, rows)
    folder = root / "tiny-bert"
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS[1], *WORDS[0], *neutral]
    BertTokenizer(vocab={w: i for i, w in enumerate(vocabulary)}).save_pretrained(folder)
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(vocab_size=len(vocabulary), hidden_size=16, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=32, max_position_embeddings=16,
                                             num_labels=2)).save_pretrained(folder)
    data = ["data.name=local", f"data.train_file={root / 'train.tsv'}", f"data.dev_file={root / 'dev.tsv'}",
            "data.max_length=12", "threads=1"]
    final = train_teacher.main(["--config", "sst2", "--runs-dir", str(root / "teacher"), *data,
                                f"teacher.name={folder}", "data.holdout=0.1", "teacher.epochs=2", "teacher.lr=3e-3"])
    return {"root": root, "data": data, "final": final, "labels": labels}


def test_a_teacher_with_a_holdout_trains_on_the_rest_and_reports_holdout_acc(teacher_run, tmp_path, capsys):
    held = sum(half_up(0.1 * n) for n in Counter(teacher_run["labels"]).values())
    final = teacher_run["final"]
    assert (final["train_examples"], final["holdout_examples"]) == (200 - held, held)
    saved, summary = metrics(teacher_run["root"] / "teacher")
    assert len(saved["history"]) == 2 and all({"dev_acc", "holdout_acc"} <= set(r) for r in saved["history"])
    assert saved["final"]["holdout_acc"] == final["holdout_acc"] == saved["history"][-1]["holdout_acc"]
    assert "holdout_acc" in summary.splitlines()[2] and "holdout_examples" in summary.splitlines()[2]
    teacher = next((teacher_run["root"] / "teacher").iterdir()) / "checkpoints" / "model.pt"
    scored = evaluate.main(["--config", "sst2", "--runs-dir", str(tmp_path / "eval"), *teacher_run["data"],
                            "data.holdout=0.1", f"evaluate.checkpoint={teacher}"])
    assert scored["holdout_acc"] == pytest.approx(final["holdout_acc"])  # the same split, the same model
    assert scored["dev_acc"] == pytest.approx(final["dev_acc"])


def test_a_student_with_a_holdout_labels_only_the_training_part(teacher_run, tmp_path, capsys):
    """Offline, with one cache folder: the run without a holdout labels all 200 sentences, the run with one labels
    its training part into a file of its own, and a student epoch reports holdout_acc beside dev_acc and agreement."""
    cache = tmp_path / "cache"
    teacher = next((teacher_run["root"] / "teacher").iterdir()) / "checkpoints" / "model.pt"

    def run(runs, *overrides):
        return distill.main(["--config", "sst2", "--runs-dir", str(tmp_path / runs), *teacher_run["data"],
                             f"teacher.checkpoint={teacher}", "student.arch=bilstm", "student.embed_dim=8",
                             "student.lstm_hidden=8", "student.epochs=1", f"distill.cache_dir={cache}", *overrides])

    plain = run("plain")
    assert "caching the teacher's logits on 200 " in capsys.readouterr().out
    assert "holdout_acc" not in plain and "holdout_examples" not in plain  # off: the run as it was
    held = run("held", "data.holdout=0.2")
    out = capsys.readouterr().out
    assert f"caching the teacher's logits on {held['train_examples']} " in out and "read from" not in out
    assert f"{held['train_examples']} training examples ({held['holdout_examples']} more held out" in out
    assert held["train_examples"] + held["holdout_examples"] == 200 and held["holdout_examples"] == pytest.approx(
        40, abs=1)
    assert len(list(cache.glob("*.pt"))) == 2
    assert {"dev_acc", "holdout_acc", "agreement"} <= set(metrics(tmp_path / "held")[0]["history"][-1])
    assert "holdout_acc" not in metrics(tmp_path / "plain")[0]["history"][-1]
