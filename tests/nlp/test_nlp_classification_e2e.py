"""End to end through the scripts on a tiny synthetic sentiment task: a tiny BERT teacher (saved as a local Hugging Face
folder, loaded like any hub model; the ``workspace`` fixture of tests/nlp/conftest.py), then small-BERT and BiLSTM
students that must learn it. Each method's distillation term must teach: kd's and logit_mse's logit terms overrule
flipped labels, and tinybert's hidden and attention terms and distilbert's cosine term pull the student's features
towards the teacher's against the same method with that term at weight 0."""
import json
import re

import pytest
import torch

from kd.common.losses.transformer import attention_map_loss, cosine_embedding_loss
from kd.common.metrics import linear_cka
from kd.common.utils.errors import CheckpointMismatchError, ConfigError, KDError
from kd.nlp.model_zoo import load_nlp_model
from kd.nlp.scripts import distill, evaluate

CONFIG = "NLP/configs/sst2.yaml"
SMALL_BERT = ("student.num_layers=1", "student.hidden_size=16", "student.num_heads=2")
TEACHER_WIDE_BERT = ("student.num_layers=1", "student.hidden_size=32", "student.num_heads=2",
                     "student.intermediate_size=64")  # the teacher's layer sizes, one layer


def run_distill(ws, *overrides, runs="runs"):
    return distill.main(["--config", CONFIG, "--runs-dir", str(ws["root"] / runs), *ws["data"],
                         f"teacher.checkpoint={ws['teacher']}", *overrides])


def test_teacher_learns(workspace):
    assert workspace["teacher_final"]["dev_acc"] > 90


def test_small_bert_student_learns_from_teacher_logits(workspace):
    final = run_distill(workspace, *SMALL_BERT, "student.epochs=6", "student.lr=3e-3",
                        "method.name=kd", "methods.kd.alpha=1.0")  # no labels at all
    assert final["dev_acc"] > 85 and final["agreement"] > 85


def test_bilstm_student_with_own_vocabulary_learns(workspace):
    final = run_distill(workspace, "student.arch=bilstm", "student.embed_dim=16", "student.lstm_hidden=16",
                        "student.epochs=5", "student.lr=5e-3", "method.name=logit_mse", "methods.logit_mse.alpha=0.5")
    assert final["dev_acc"] > 85 and final["agreement"] > 85


def test_offline_students_share_one_labelling(workspace, tmp_path, capsys):
    """Students pointed at one distill.cache_dir: the first labels the training set, the next reads the same file
    (the teacher's logits on every training sentence); another training subset gets its own file."""
    cache = tmp_path / "cache"
    short = (*SMALL_BERT, "student.epochs=1", f"distill.cache_dir={cache}")
    run_distill(workspace, *short, runs="runs_cache")
    assert "caching the teacher's logits on 640" in capsys.readouterr().out
    [labelled] = cache.glob("*.pt")
    run_distill(workspace, "student.arch=bilstm", "student.embed_dim=16", "student.lstm_hidden=16", *short[3:],
                runs="runs_cache")
    assert f"read from {labelled}" in capsys.readouterr().out
    teacher, tokenizers, _ = load_nlp_model(str(workspace["teacher"]))
    texts = [line.split("\t")[0] for line in (workspace["root"] / "train.tsv").read_text().splitlines()[1:]]
    with torch.no_grad():
        expected = teacher(**tokenizers["main"](texts[:8], padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(torch.load(labelled, weights_only=True)[:8], expected, atol=0.1, rtol=0.05)
    run_distill(workspace, *short, "data.train_subset=100", runs="runs_cache")
    assert "caching the teacher's logits on 100" in capsys.readouterr().out
    assert len(list(cache.glob("*.pt"))) == 2


def test_the_teacher_labels_data_eval_batch_size_sentences_at_a_time(workspace, tmp_path, monkeypatch):
    """Offline KD's labelling runs the teacher on ``data.eval_batch_size`` sentences per forward (the key dev scoring
    reads), not a fixed number."""
    from kd.nlp.tasks import classification

    labelled = []
    loader_of = classification.make_loader

    def recording(texts, labels, tokenizers, cfg, batch_size, shuffle, *args, **kwargs):
        if set(tokenizers) == {"teacher"}:
            labelled.append(batch_size)
        return loader_of(texts, labels, tokenizers, cfg, batch_size, shuffle, *args, **kwargs)

    monkeypatch.setattr(classification, "make_loader", recording)
    run_distill(workspace, *SMALL_BERT, "student.epochs=1", "data.eval_batch_size=7",
                f"distill.cache_dir={tmp_path / 'cache'}", runs=str(tmp_path / "runs"))
    assert labelled == [7]


@pytest.mark.parametrize("method", ["tinybert", "distilbert"])
def test_feature_methods_online_with_distilbert_init(workspace, method):
    final = run_distill(workspace, *TEACHER_WIDE_BERT, "student.init=teacher", "distill.mode=online",
                        f"method.name={method}", "methods.tinybert.attention_heads=none", "student.epochs=1")
    assert final["dev_acc"] > 50  # one epoch from the teacher's own layer: runs and stays sensible
    assert final["model"] == f"small_bert + {method}"


@pytest.mark.parametrize("method", ["tinybert", "distilbert"])
def test_position_methods_refused_for_bilstm(workspace, method, tmp_path):
    with pytest.raises(KDError, match=f"method.name={method} compares token positions, so the student must use the "
                                      "teacher's tokenizer; this student \(student.arch=bilstm\) has its own"):
        run_distill(workspace, "student.arch=bilstm", f"method.name={method}", "distill.mode=online",
                    runs=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_offline_is_refused_for_a_method_that_reads_teacher_features(workspace, tmp_path):
    with pytest.raises(ConfigError, match="method.name=tinybert reads the teacher's hidden states and attentions on "
                                          "every batch, which cached logits cannot replace: pass distill.mode=online"):
        run_distill(workspace, *SMALL_BERT, "method.name=tinybert", runs=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_the_teacher_run_keeps_its_state_and_its_weights_apart(workspace, tmp_path):
    """train_teacher leaves checkpoints/last.pt (training state) beside model.pt (weights); the state passed as the
    teacher is one line naming what it is, before any run folder exists."""
    assert {p.name for p in workspace["teacher"].parent.iterdir()} == {"last.pt", "model.pt"}
    state = workspace["teacher"].with_name("last.pt")
    with pytest.raises(CheckpointMismatchError, match=r"last.pt' is a run's resumable training state \(what --resume "
                                                      r"continues from\), not model weights"):
        run_distill(workspace, f"teacher.checkpoint={state}", runs=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_evaluate_script_and_label_mismatch(workspace, tmp_path):
    final = evaluate.main(["--config", CONFIG, "--runs-dir", str(tmp_path / "eval"), *workspace["data"],
                           f"evaluate.checkpoint={workspace['teacher']}"])
    assert final["dev_acc"] == pytest.approx(workspace["teacher_final"]["dev_acc"])
    (run,) = (tmp_path / "eval").iterdir()
    assert re.fullmatch(r"nlp-sst2-evaluate-\d{8}-\d{6}", run.name)  # evaluate trains nothing: no seed
    three = tmp_path / "three.tsv"
    three.write_text("text\tlabel\na\t0\nb\t1\nc\t2\n")
    with pytest.raises(KDError, match="labels"):
        evaluate.main(["--config", CONFIG, "--runs-dir", str(tmp_path), *workspace["data"][:1],
                       f"data.train_file={three}", f"data.dev_file={three}",
                       f"evaluate.checkpoint={workspace['teacher']}"])


class BagOfWords(torch.nn.Module):
    """A user's own student: mean of word embeddings -> linear layer (reads the teacher's tokenizer)."""

    def __init__(self, vocab_size, num_labels, dim=16):
        super().__init__()
        self.embed = torch.nn.EmbeddingBag(vocab_size, dim, mode="sum")
        self.head = torch.nn.Linear(dim, num_labels)

    def forward(self, input_ids, attention_mask, **_):
        from transformers.modeling_outputs import SequenceClassifierOutput

        weights = attention_mask.float() / attention_mask.sum(1, keepdim=True)  # the mean over real tokens
        return SequenceClassifierOutput(logits=self.head(self.embed(input_ids, per_sample_weights=weights)))


def test_a_student_of_your_own_is_selected_by_name(workspace, monkeypatch):
    from kd.nlp.student_model.classification_students import CLASSIFICATION_STUDENTS, BuiltStudent, StudentArch
    from kd.nlp.tokenizer_spec import tokenizer_spec

    def bag_of_words(section, num_labels, teacher, teacher_tokenizer, teacher_name, train_texts):
        kwargs = {"vocab_size": len(teacher_tokenizer), "num_labels": num_labels}
        return BuiltStudent(BagOfWords(**kwargs), teacher_tokenizer, kwargs,
                            tokenizer_spec(teacher_tokenizer, teacher_name))

    # one registration: student.arch=bag_of_words builds it, and its checkpoint reloads as BagOfWords(**kwargs)
    monkeypatch.setitem(CLASSIFICATION_STUDENTS._entries, "bag_of_words", StudentArch(bag_of_words, BagOfWords))
    final = run_distill(workspace, "student.arch=bag_of_words", "student.epochs=8", "student.lr=0.05")
    assert final["dev_acc"] > 85 and final["agreement"] > 85
    student = sorted((workspace["root"] / "runs").glob("nlp-sst2-distill-*"))[-1] / "checkpoints" / "model.pt"
    again = evaluate.main(["--config", CONFIG, "--runs-dir", str(workspace["root"] / "runs"), *workspace["data"],
                           f"evaluate.checkpoint={student}"])
    assert again["dev_acc"] == pytest.approx(final["dev_acc"])


def test_tinybert_two_stages_train_features_first_then_predictions(workspace):
    final = run_distill(workspace, *SMALL_BERT, "distill.mode=online", "method.name=tinybert",
                        "methods.tinybert.feature_epochs=2", "student.epochs=6", "student.lr=3e-3")
    run = sorted((workspace["root"] / "runs").glob("nlp-sst2-distill-*"))[-1]
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [sorted(k for k in r if k.startswith("loss_")) for r in history[:3]] == [
        ["loss_attention", "loss_hidden"], ["loss_attention", "loss_hidden"], ["loss_ce", "loss_kd"]]
    assert final["dev_acc"] > 85
    with pytest.raises(ConfigError, match="feature_epochs"):
        run_distill(workspace, *SMALL_BERT, "distill.mode=online", "method.name=tinybert",
                    "methods.tinybert.feature_epochs=2", "student.epochs=2")


@pytest.mark.parametrize("method", ["kd", "logit_mse"])
def test_logit_term_sides_with_the_teacher_against_flipped_labels(workspace, method):
    """The student's labels (train and dev) are the flips of what the teacher learnt. With a small CE weight (0.1)
    and a large weight on the method's logit term (0.9) it must agree with the teacher and so contradict its own dev
    labels; without the term's gradient (alpha=0) it learns its labels instead."""
    root = workspace["root"]
    final = run_distill(workspace, f"data.train_file={root / 'flipped_train.tsv'}",
                        f"data.dev_file={root / 'flipped_dev.tsv'}", *SMALL_BERT, "student.epochs=2",
                        "student.lr=1e-2", f"method.name={method}", f"methods.{method}.alpha=0.9")
    assert final["agreement"] > 85 and final["dev_acc"] < 30, final


FEATURE_TERMS = ("hidden", "attention", "cosine")
# Each feature term's run: its method (alpha=0: hard-label CE, the KD term computed at weight 0) with that term at
# weight 1 and the method's other feature term at 0; its control: the same method with every feature term at 0.
FEATURE_RUNS = {
    "tinybert_control": ("tinybert", {"hidden_weight": 0.0, "attention_weight": 0.0}),
    "hidden": ("tinybert", {"hidden_weight": 1.0, "attention_weight": 0.0}),
    "attention": ("tinybert", {"hidden_weight": 0.0, "attention_weight": 1.0}),
    "distilbert_control": ("distilbert", {"cosine_weight": 0.0}),
    "cosine": ("distilbert", {"cosine_weight": 1.0}),
}
CONTROL = {"hidden": "tinybert_control", "attention": "tinybert_control", "cosine": "distilbert_control"}
# How far the student's last-layer features are from the teacher's on the dev tokens, with nothing learnt (the
# hidden term's projection is not used): 1 - linear CKA of the hidden states, attention-map MSE, cosine loss.
FEATURE_DISTANCES = {
    "hidden": lambda s, t, mask: 1 - linear_cka(s.hidden_states[-1][mask], t.hidden_states[-1][mask]),
    "attention": lambda s, t, mask: attention_map_loss(s.attentions[-1], t.attentions[-1], mask).item(),
    "cosine": lambda s, t, mask: cosine_embedding_loss(s.hidden_states[-1], t.hidden_states[-1], mask).item(),
}


def dev_features(checkpoint, texts):
    """The hidden states and attention maps of a saved model on ``texts``, and the mask of real tokens."""
    model, tokenizers, _ = load_nlp_model(checkpoint)
    inputs = tokenizers["main"](texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model.eval()(**inputs, output_hidden_states=True, output_attentions=True)
    return out, inputs["attention_mask"].bool()


@pytest.fixture(scope="module")
def feature_distances(workspace):
    """{run: {term: distance to the teacher on dev}} for each run of FEATURE_RUNS: per method, the same student,
    init, data order and computed terms; only the weights differ."""
    teacher, mask = dev_features(workspace["teacher"], workspace["dev_texts"])
    distances = {}
    for run, (method, weights) in FEATURE_RUNS.items():
        run_distill(workspace, *TEACHER_WIDE_BERT, "distill.mode=online", f"method.name={method}",
                    f"methods.{method}.alpha=0.0", "methods.tinybert.attention_heads=none", "student.epochs=1",
                    "student.lr=1e-2", *(f"methods.{method}.{k}={v}" for k, v in weights.items()), runs=f"runs-{run}")
        student, _ = dev_features(next((workspace["root"] / f"runs-{run}").glob("*/checkpoints/model.pt")),
                                  workspace["dev_texts"])
        distances[run] = {t: f(student, teacher, mask) for t, f in FEATURE_DISTANCES.items()}
    return distances


@pytest.mark.parametrize("term", FEATURE_TERMS)
def test_feature_term_pulls_student_features_towards_the_teacher(feature_distances, term):
    """TinyBERT's hidden-state and attention terms and DistilBERT's cosine term each bring the student's features
    measurably closer to the teacher's than the same method's training without the term (weight 0)."""
    assert feature_distances[term][term] < 0.5 * feature_distances[CONTROL[term]][term]
