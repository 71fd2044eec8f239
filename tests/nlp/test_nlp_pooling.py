"""``teacher.pooling`` (and ``student.pooling`` of a pretrained student): ``mean`` classifies from the masked mean of
the token states (Sentence-BERT's pooling, what MiniLM was trained with), ``cls`` is AutoModelForSequenceClassification
as it was. The mean head by hand and against padding; cls bit for bit the HF model; the pooling recorded in the
checkpoint (one from before it loads as cls); a mean-pooled teacher through train_teacher, offline distill (its
logits cached), TinyBERT online from its layers (student.init=teacher) and evaluate; an unknown value one line
before any run folder. The tiny BERT is the ``workspace`` one of tests/nlp/conftest.py."""
import json

import pytest
import torch
import yaml

from kd.common.utils.cli import DRY_RUN_HEADER
from kd.nlp.model_zoo import load_nlp_model, save_nlp_model
from kd.nlp.scripts import distill, evaluate, train_teacher
from kd.nlp.teacher_model import MeanPooledClassifier, load_hf_classifier, mean_pool

IDS = torch.tensor([[2, 7, 20, 13, 3, 0, 0], [2, 9, 30, 21, 11, 6, 3]])  # [CLS] ... [SEP], the first padded
MASK = (IDS != 0).long()


def tiny_bert(workspace) -> str:
    return str(workspace["root"] / "tiny-bert")


def test_the_mean_head_reads_the_masked_mean_of_the_token_states(workspace):
    model = load_hf_classifier(tiny_bert(workspace), num_labels=3, pooling="mean").eval()
    assert isinstance(model, MeanPooledClassifier) and model.encoder.pooler is None  # the untrained pooler left out
    assert not [k for k in model.state_dict() if "pooler" in k]
    with torch.no_grad():
        out = model(input_ids=IDS, attention_mask=MASK, output_hidden_states=True)
        last = out.hidden_states[-1]
        by_hand = torch.stack([last[0, :5].mean(0), last[1].mean(0)])  # the 5 real tokens; all 7
        torch.testing.assert_close(mean_pool(last, MASK), by_hand)
        torch.testing.assert_close(out.logits, model.classifier(by_hand))
        assert out.logits.shape == (2, 3)
        alone = model(input_ids=IDS[:1, :5], attention_mask=MASK[:1, :5]).logits  # no padding at all
        padded = model(input_ids=torch.cat([IDS[:1], torch.zeros(1, 4, dtype=torch.long)], 1),
                       attention_mask=torch.cat([MASK[:1], torch.zeros(1, 4, dtype=torch.long)], 1)).logits
    torch.testing.assert_close(alone[0], out.logits[0], atol=1e-6, rtol=0)  # padding changes nothing
    torch.testing.assert_close(padded[0], out.logits[0], atol=1e-6, rtol=0)


def test_the_mean_head_returns_what_the_hf_head_returns(workspace):
    """The same call as the HF classifier (token_type_ids too), its hidden states and attentions, its config and its
    encoder as ``base_model`` (what DistilBERT-style init and TinyBERT read); dropout as the HF head's."""
    mean = load_hf_classifier(tiny_bert(workspace), num_labels=2, pooling="mean").eval()
    cls = load_hf_classifier(tiny_bert(workspace), num_labels=2).eval()
    with torch.no_grad():
        m = mean(input_ids=IDS, attention_mask=MASK, token_type_ids=torch.zeros_like(IDS), output_hidden_states=True,
                 output_attentions=True)
        c = cls(input_ids=IDS, attention_mask=MASK, token_type_ids=torch.zeros_like(IDS), output_hidden_states=True,
                output_attentions=True)
    assert len(m.hidden_states) == len(c.hidden_states) == 3 and len(m.attentions) == len(c.attentions) == 2
    for ours, theirs in zip(m.hidden_states + m.attentions, c.hidden_states + c.attentions):
        torch.testing.assert_close(ours, theirs)  # the same encoder weights
    assert mean.base_model is mean.encoder and mean.config.num_hidden_layers == cls.config.num_hidden_layers
    assert mean.dropout.p == cls.dropout.p == 0.1
    with torch.no_grad():  # no attention_mask: every token real
        torch.testing.assert_close(mean(input_ids=IDS[1:]).logits, m.logits[1:])


def test_cls_is_the_hf_sequence_classifier_bit_for_bit(workspace):
    from transformers import AutoModelForSequenceClassification

    ours = load_hf_classifier(tiny_bert(workspace), num_labels=2).eval()
    theirs = AutoModelForSequenceClassification.from_pretrained(tiny_bert(workspace), num_labels=2,
                                                                attn_implementation="eager").eval()
    assert type(ours) is type(theirs) and ours.state_dict().keys() == theirs.state_dict().keys()
    assert all(torch.equal(v, theirs.state_dict()[k]) for k, v in ours.state_dict().items())
    with torch.no_grad():
        a = ours(input_ids=IDS, attention_mask=MASK, output_attentions=True)
        b = theirs(input_ids=IDS, attention_mask=MASK, output_attentions=True)
    assert torch.equal(a.logits, b.logits) and all(torch.equal(x, y) for x, y in zip(a.attentions, b.attentions))


def test_the_checkpoint_records_the_pooling(workspace, tmp_path):
    """A mean-pooled model saved with save_nlp_model reloads as one with the same logits; a checkpoint without the
    key (saved before teacher.pooling) reloads as the [CLS] head it was."""
    folder = tiny_bert(workspace)
    torch.manual_seed(1)
    mean = load_hf_classifier(folder, num_labels=2, pooling="mean").eval()
    save_nlp_model(mean, tmp_path / "mean.pt", "hf_classifier", {"name": folder, "num_labels": 2, "pooling": "mean"},
                   {})
    cls = load_hf_classifier(folder, num_labels=2).eval()
    save_nlp_model(cls, tmp_path / "old.pt", "hf_classifier", {"name": folder, "num_labels": 2}, {})
    for model, path in ((mean, "mean.pt"), (cls, "old.pt")):
        again, _, _ = load_nlp_model(tmp_path / path, expected_arch=("hf_classifier",))
        assert type(again) is type(model)
        with torch.no_grad():
            assert torch.equal(again.eval()(input_ids=IDS, attention_mask=MASK).logits,
                               model(input_ids=IDS, attention_mask=MASK).logits)


@pytest.fixture(scope="module")
def mean_teacher(workspace, tmp_path_factory):
    """The workspace's tiny BERT fine-tuned by train_teacher with teacher.pooling=mean: ``(final, model.pt)``."""
    runs = tmp_path_factory.mktemp("pooling") / "teacher"
    final = train_teacher.main(["--config", "sst2", "--runs-dir", str(runs), *workspace["data"], "threads=1",
                                "teacher.pooling=mean", "teacher.epochs=4", "teacher.lr=3e-3"])
    (run,) = runs.iterdir()
    return final, run / "checkpoints" / "model.pt"


def run_distill(workspace, teacher, runs, *overrides):
    return distill.main(["--config", "sst2", "--runs-dir", str(runs), *workspace["data"], "threads=1",
                         f"teacher.checkpoint={teacher}", *overrides])


def saved_config(runs) -> dict:
    (run,) = runs.iterdir()
    return yaml.safe_load((run / "config.yaml").read_text())


def test_a_mean_pooled_teacher_learns_and_records_its_head(mean_teacher, workspace, tmp_path):
    final, checkpoint = mean_teacher
    assert final["model"] == f"teacher ({tiny_bert(workspace)}, mean pooling)" and final["dev_acc"] > 85
    assert torch.load(checkpoint, weights_only=True)["arch_kwargs"]["pooling"] == "mean"
    scored = evaluate.main(["--config", "sst2", "--runs-dir", str(tmp_path / "eval"), *workspace["data"],
                            f"evaluate.checkpoint={checkpoint}", f"teacher.checkpoint={checkpoint}"])
    assert scored["dev_acc"] == pytest.approx(final["dev_acc"]) and scored["agreement"] == 100


def test_offline_distillation_caches_the_mean_heads_logits(mean_teacher, workspace, tmp_path, capsys):
    """distill takes the head from the checkpoint (the config's teacher.pooling=cls, the default, says so in one line
    and config.yaml records mean); the cached logits are the mean head's, and the student learns them."""
    _, checkpoint = mean_teacher
    final = run_distill(workspace, checkpoint, tmp_path / "runs", "student.num_layers=1", "student.hidden_size=16",
                        "student.num_heads=2", "student.epochs=6", "student.lr=3e-3", "method.name=kd",
                        "methods.kd.alpha=1.0", f"distill.cache_dir={tmp_path / 'cache'}")
    assert f"teacher.pooling=mean: the head '{checkpoint}' was trained with (the config's teacher.pooling=cls is " \
           "train_teacher's setting)" in capsys.readouterr().out
    assert saved_config(tmp_path / "runs")["teacher"]["pooling"] == "mean"
    assert final["dev_acc"] > 85 and final["agreement"] > 85
    teacher, tokenizers, _ = load_nlp_model(checkpoint)
    texts = [line.split("\t")[0] for line in (workspace["root"] / "train.tsv").read_text().splitlines()[1:9]]
    with torch.no_grad():
        expected = teacher.eval()(**tokenizers["main"](texts, padding=True, return_tensors="pt")).logits
    (cache,) = (tmp_path / "cache").glob("*.pt")
    torch.testing.assert_close(torch.load(cache, weights_only=True)[:8], expected, atol=0.1, rtol=0.05)


def test_tinybert_reads_a_mean_pooled_teachers_layers(mean_teacher, workspace, tmp_path, capsys):
    """Online TinyBERT (the teacher's hidden states and attention maps every batch) on a student initialised from the
    teacher's layers (student.init=teacher reads the mean head's encoder)."""
    _, checkpoint = mean_teacher
    final = run_distill(workspace, checkpoint, tmp_path / "runs", "student.num_layers=1", "student.hidden_size=32",
                        "student.num_heads=2", "student.intermediate_size=64", "student.init=teacher",
                        "distill.mode=online", "method.name=tinybert", "methods.tinybert.attention_heads=none",
                        "student.epochs=1")
    assert "DistilBERT-style init: student layers <- teacher layers [0]" in capsys.readouterr().out
    assert final["model"] == "small_bert + tinybert" and final["dev_acc"] > 50
    (run,) = (tmp_path / "runs").iterdir()
    (record,) = json.loads((run / "metrics.json").read_text())["history"]
    assert record["loss_hidden"] > 0 and record["loss_attention"] > 0  # the teacher's features were read


def test_a_mean_pooled_pretrained_student(workspace, tmp_path, capsys):
    """student.arch=pretrained student.pooling=mean: the mean head on the student's own encoder, named in the row's
    label, saved in model.pt only (no transformers class has it) and reloaded by evaluate."""
    final = run_distill(workspace, workspace["teacher"], tmp_path / "runs", "student.arch=pretrained",
                        f"student.name={tiny_bert(workspace)}", "student.pooling=mean", "student.epochs=1",
                        "student.lr=3e-3")
    assert final["model"] == "pretrained (mean pooling) + kd"
    assert "student.pooling=mean: no save_pretrained folder" in capsys.readouterr().out
    (run,) = (tmp_path / "runs").iterdir()
    assert not (run / "checkpoints" / "model").exists()
    again = evaluate.main(["--config", "sst2", "--runs-dir", str(tmp_path / "eval"), *workspace["data"],
                           f"evaluate.checkpoint={run / 'checkpoints' / 'model.pt'}"])
    assert again["dev_acc"] == pytest.approx(final["dev_acc"])


@pytest.mark.parametrize("key", ["teacher.pooling", "student.pooling"])
def test_an_unknown_pooling_is_one_line(key, sst2_refusal):
    message = (f"error: unknown {key} 'max'; choose cls (the [CLS] state through the model's pooler) or mean (the "
               "mean of the token states, as sentence encoders such as MiniLM were trained)")
    for script in (train_teacher, distill, evaluate):
        assert sst2_refusal(script, [f"{key}=max"]) == message
    assert sst2_refusal(train_teacher, ["--dry-run", f"{key}=max"]) == message


def test_dry_run_shows_the_heads_pooling(mean_teacher, workspace, tmp_path, capsys):
    """--dry-run of train_teacher prints teacher.pooling as given; of distill, the checkpoint's."""
    _, checkpoint = mean_teacher
    for script, argv in ((train_teacher, ["teacher.pooling=mean"]), (distill, [f"teacher.checkpoint={checkpoint}"])):
        with pytest.raises(SystemExit) as exit_info:
            script.main(["--config", "sst2", "--runs-dir", str(tmp_path / "runs"), "--dry-run", *workspace["data"],
                         *argv])
        assert exit_info.value.code == 0
        printed = capsys.readouterr().out.split(DRY_RUN_HEADER + "\n", 1)[1].split("dry run: ")[0]
        assert yaml.safe_load(printed)["teacher"]["pooling"] == "mean"
    assert not (tmp_path / "runs").exists()
