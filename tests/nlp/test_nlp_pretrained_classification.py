"""Sequence classifiers by name: a tiny BERT saved with save_pretrained stands in for bert-base-uncased as the
teacher, another (with its own tokenizer) for a pretrained student (student.arch=pretrained); the distilled
student is saved as a save_pretrained folder that transformers' Auto classes load with its label names, and its
checkpoints/model.pt reloads in evaluate."""
import random

import pytest
import torch

from kd.nlp.scripts import distill, evaluate, train_teacher

POSITIVE, NEGATIVE, NEUTRAL = ["good", "great"], ["bad", "awful"], [f"w{i}" for i in range(12)]


def tiny_bert(folder, words, seed):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    BertTokenizer(vocab={w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words)}
                  ).save_pretrained(folder)
    torch.manual_seed(seed)
    BertForSequenceClassification(BertConfig(vocab_size=5 + len(words), hidden_size=16, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                                             num_labels=2)).save_pretrained(folder)
    return folder


def test_pretrained_teacher_and_student_by_name(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    rng = random.Random(0)
    for name, n in (("train.tsv", 200), ("dev.tsv", 40)):
        rows = [(rng.choice(["pos", "neg"]), rng.choices(NEUTRAL, k=4)) for _ in range(n)]
        (tmp_path / name).write_text("text\tlabel\n" + "".join(
            f"{' '.join(words + [rng.choice(POSITIVE if y == 'pos' else NEGATIVE)])}\t{y}\n" for y, words in rows))
    words = POSITIVE + NEGATIVE + NEUTRAL
    teacher = tiny_bert(tmp_path / "tiny-bert-base", words, 0)
    student = tiny_bert(tmp_path / "tiny-distilbert", list(reversed(words)), 1)  # another vocabulary order
    common = ["--config", "NLP/configs/sst2.yaml", "--runs-dir", str(tmp_path / "runs"), "data.name=local",
              f"data.train_file={tmp_path / 'train.tsv'}", f"data.dev_file={tmp_path / 'dev.tsv'}",
              "data.max_length=16", "threads=1"]
    train_teacher.main(common + [f"teacher.name={teacher}", "teacher.epochs=2", "teacher.lr=3e-3"])
    teacher_pt = next((tmp_path / "runs").glob("nlp-sst2-train_teacher-*")) / "checkpoints" / "model.pt"
    final = distill.main(common + [f"teacher.checkpoint={teacher_pt}", "student.arch=pretrained",
                                   f"student.name={student}", "student.epochs=2", "student.lr=3e-3"])
    assert 0 <= final["dev_acc"] <= 100 and "agreement" in final
    run = next((tmp_path / "runs").glob("nlp-sst2-distill-*"))
    folder = run / "checkpoints" / "model"
    model, tokenizer = AutoModelForSequenceClassification.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert model.config.id2label == {0: "neg", 1: "pos"} and tokenizer.convert_ids_to_tokens(5) == "w11"
    again = evaluate.main(common + [f"evaluate.checkpoint={run / 'checkpoints' / 'model.pt'}"])
    assert again["dev_acc"] == pytest.approx(final["dev_acc"])
