"""Causal-LM distillation: a token-KL step lowers the loss, vocabularies must match, and the scripts run
teacher -> student (alone and with KD) on a tiny text-file fixture."""
import random

import pytest
import torch

from kd.common.engine import Distiller
from kd.common.utils.errors import KDError
from kd.nlp.methods import CausalLMKD
from kd.nlp.scripts import distill, train_teacher
from kd.nlp.teacher_model import build_gpt2_lm


def batch(vocab=30):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(4, vocab, (8, 10), generator=g)
    mask = torch.ones_like(ids)
    mask[:4, 7:] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask}


def test_token_kl_step_lowers_the_loss():
    torch.manual_seed(0)
    teacher = build_gpt2_lm(30, n_layer=2, n_embd=32, n_head=2, n_positions=16, dropout=0.0)
    student = build_gpt2_lm(30, n_layer=1, n_embd=16, n_head=2, n_positions=16, dropout=0.0)
    distiller = Distiller(student, CausalLMKD({"kd": 1.0}), torch.optim.Adam(student.parameters(), lr=3e-3),
                          device=torch.device("cpu"), teacher=teacher, progress=False)
    losses = [distiller.train_step(batch())["kd"].item() for _ in range(30)]
    assert losses[-1] < 0.6 * losses[0]


def test_token_kl_needs_the_same_vocabulary():
    teacher = build_gpt2_lm(40, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    student = build_gpt2_lm(30, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    with pytest.raises(KDError, match="same"):
        CausalLMKD({"ce": 1.0, "kd": 1.0})(student, teacher, batch())


def test_lm_scripts_end_to_end(tmp_path):
    rng = random.Random(0)
    subjects, verbs, objects = ["a dog", "the cat", "a man"], ["sees", "eats", "likes"], ["a ball", "the fish", "food"]
    for name, n in (("train.txt", 400), ("dev.txt", 50)):
        (tmp_path / name).write_text("".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} .\n"
                                             for _ in range(n)))
    common = ["--config", "NLP/configs/lm.yaml", "--runs-dir", str(tmp_path / "runs"), "data.name=text_files",
              f"data.train_file={tmp_path / 'train.txt'}", f"data.dev_file={tmp_path / 'dev.txt'}", "data.min_freq=1",
              "threads=2"]
    teacher = train_teacher.main(common + ["teacher.n_layer=2", "teacher.n_embd=32", "teacher.n_head=2",
                                           "train.epochs=4", "train.batch_size=32", "train.lr=3.0e-3"])
    assert teacher["val_ppl"] < 6  # 14 word types, but only ~3 choices at each position
    ckpt = next((tmp_path / "runs").glob("nlp-lm-train_teacher-*")) / "checkpoints" / "teacher.pt"
    student = distill.main(common + [f"teacher.checkpoint={ckpt}", "student.n_layer=1", "student.n_embd=16",
                                     "distill.epochs=4", "distill.batch_size=32", "distill.lr=3.0e-3"])
    assert student["val_ppl"] < 8 and student["params"] < teacher["params"]
