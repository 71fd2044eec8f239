"""Pretrained causal LMs by name (a tiny GPT-2 saved with save_pretrained stands in for a hub model): the
DistilGPT2 init copies alternate teacher layers; train_teacher fine-tunes a pretrained teacher and distill builds a
half-depth student from its config, both saved as save_pretrained folders that transformers' Auto classes reload
and evaluate reads back (without a checkpoint it scores the pretrained teacher as it is); a student with another
vocabulary, a mistyped hub name offline, and a student key the way the student is built does not read (the sizes of
a from-scratch teacher's student, with a pretrained teacher) are one-line errors; the preset's student builds."""
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kd.common.utils.cli import main_entry
from kd.common.utils.errors import ConfigError, KDError
from kd.nlp.defaults import task_section
from kd.nlp.scripts import distill, evaluate, train_teacher
from kd.nlp.student_model import student_from_teacher_config
from kd.nlp.teacher_model import load_causal_lm

REPO = Path(__file__).resolve().parents[2]
SUBJECTS, VERBS, OBJECTS = ["A dog", "The cat", "A man"], ["sees", "eats", "likes"], ["a ball", "the fish", "food"]


def write_text(folder, seed=0):
    """``train.txt`` (200 lines) and ``dev.txt`` (40) of cased '<subject> <verb> <object> .' sentences."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.txt", 200), ("dev.txt", 40)):
        (folder / name).write_text("".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} .\n"
                                           for _ in range(n)))
    return (folder / "train.txt").read_text().splitlines()


def lm_args(runs, folder):
    return ["--config", "NLP/configs/lm.yaml", "--runs-dir", str(runs), "data.name=text_files",
            f"data.train_file={folder / 'train.txt'}", f"data.dev_file={folder / 'dev.txt'}", "threads=1"]


def test_distilgpt2_init_copies_alternate_teacher_layers(tiny_gpt2, tmp_path):
    teacher, _ = load_causal_lm(str(tiny_gpt2(tmp_path / "gpt2", ["a b c ."], n_layer=4)))
    student = student_from_teacher_config(teacher, {"n_layer": 2}, init="teacher")
    assert student.config.n_layer == 2 and teacher.config.n_layer == 4
    for s_layer, t_layer in zip(student.transformer.h, (teacher.transformer.h[0], teacher.transformer.h[2])):
        for s_param, t_param in zip(s_layer.parameters(), t_layer.parameters()):
            assert torch.equal(s_param, t_param)
    assert torch.equal(student.transformer.wte.weight, teacher.transformer.wte.weight)
    assert torch.equal(student.transformer.ln_f.weight, teacher.transformer.ln_f.weight)


def test_student_config_names_and_widths_are_checked(tiny_gpt2, tmp_path):
    teacher, _ = load_causal_lm(str(tiny_gpt2(tmp_path / "gpt2", ["a b c ."], n_layer=2)))
    with pytest.raises(ConfigError, match="GPT2Config has no n_layers"):
        student_from_teacher_config(teacher, {"n_layers": 1})
    with pytest.raises(KDError, match="student's transformer.wte.weight .* has no equal in the teacher"):
        student_from_teacher_config(teacher, {"n_embd": 16}, init="teacher")  # narrower: nothing to copy
    assert student_from_teacher_config(teacher, {"n_embd": 16}).config.n_embd == 16  # random init: any width


def test_pretrained_teacher_to_half_depth_student_saved_with_save_pretrained(tiny_gpt2, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sentences = write_text(tmp_path / "text")
    hub_like = tiny_gpt2(tmp_path / "tiny-gpt2", sentences, n_layer=2)
    common = lm_args(tmp_path / "runs", tmp_path / "text")
    as_it_is = evaluate.main(common + [f"teacher.name={hub_like}"])  # no checkpoint: the pretrained teacher
    assert as_it_is["val_ppl"] > 10  # random weights: about uniform over its 18 tokens
    teacher = train_teacher.main(common + [f"teacher.name={hub_like}", "teacher.epochs=2", "teacher.batch_size=16",
                                           "teacher.lr=3e-3"])
    assert teacher["val_ppl"] < 8  # 14 words, ~3 choices a position: far below uniform over the vocabulary
    teacher_dir = next((tmp_path / "runs").glob("nlp-lm-train_teacher-*")) / "checkpoints" / "model"
    student = distill.main(common + [f"teacher.checkpoint={teacher_dir}", "student.config.n_layer=1",
                                     "student.init=teacher", "student.epochs=2", "student.batch_size=16",
                                     "student.lr=3e-3"])
    assert student["params"] < teacher["params"] and student["val_ppl"] < 10
    folder = next((tmp_path / "runs").glob("nlp-lm-distill-*")) / "checkpoints" / "model"
    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert model.config.n_layer == 1 and tokenizer.decode(tokenizer("The cat eats food .")["input_ids"]) == \
        "The cat eats food."
    again = evaluate.main(common + [f"evaluate.checkpoint={folder}"])
    assert again["val_ppl"] == pytest.approx(student["val_ppl"], rel=1e-4)


def test_student_with_another_vocabulary_is_refused_before_the_run(tiny_gpt2, tmp_path):
    sentences = write_text(tmp_path / "text")
    teacher = tiny_gpt2(tmp_path / "teacher", sentences)
    other = tiny_gpt2(tmp_path / "other", [s.lower() for s in sentences])
    with pytest.raises(KDError, match="different vocabularies"):
        distill.main(lm_args(tmp_path / "runs", tmp_path / "text") + [f"teacher.name={teacher}",
                                                                      f"student.name={other}"])
    assert not (tmp_path / "runs").exists()


def test_mistyped_hub_name_offline_is_one_line(tmp_path):
    write_text(tmp_path / "text")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "kd.nlp.scripts.distill",
                             *lm_args(tmp_path / "runs", tmp_path / "text"),
                             "teacher.name=no-such-org/gpt2-typo"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: could not fetch 'no-such-org/gpt2-typo'") and "teacher.name=" in lines[0]
    assert not (tmp_path / "runs").exists()


@pytest.fixture
def no_loading_bar():
    """transformers' weight-loading bar (on stderr) off while the teacher loads, so the error is stderr's one line."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    yield
    logging.enable_progress_bar()


@pytest.mark.parametrize("teacher_key, overrides, expected", [
    ("teacher.name", ["student.n_layer=1"],
     'student.n_layer=1 is not read with a pretrained teacher: it takes student.config, student.init; drop it, or '
     'give sizes as changes of the teacher\'s config, in its names ("student.config={n_layer: 6}" for GPT-2)'),
    ("teacher.checkpoint", ["student.dropout=0.0"],
     'student.dropout=0.0 is not read with a pretrained teacher: it takes student.config, student.init; drop it, or '
     'give sizes as changes of the teacher\'s config, in its names ("student.config={n_layer: 6}" for GPT-2)'),
    ("teacher.name", ["student.name={teacher}", "student.init=teacher"],
     "student.init=teacher is not read with student.name={teacher} (a pretrained student, used as it is): it takes "
     "student.name; drop it, or set student.name=null to build the student from the teacher instead"),
], ids=["a size, teacher.name", "a size, teacher.checkpoint folder", "student.init with student.name"])
def test_a_student_key_the_student_is_not_built_from_is_one_line(teacher_key, overrides, expected, tiny_gpt2,
                                                                 tmp_path, capfd, no_loading_bar):
    """With a pretrained teacher (by name or as a save_pretrained checkpoint folder) the student is the teacher's
    config with student.config's changes: student.n_layer=1 used to build a full-depth student without a word, and
    student.init is not read with a pretrained student.name. Refused in one line before the run folder."""
    teacher = tiny_gpt2(tmp_path / "tiny-gpt2", write_text(tmp_path / "text"))
    runs = tmp_path / "runs"
    argv = lm_args(runs, tmp_path / "text") + [f"{teacher_key}={teacher}",
                                              *(o.replace("{teacher}", str(teacher)) for o in overrides)]
    capfd.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main_entry(distill.main, argv)
    lines = capfd.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and lines == ["error: " + expected.replace("{teacher}", str(teacher))]
    assert not runs.exists()


def test_the_presets_student_builds_for_either_kind_of_teacher(tiny_gpt2, tmp_path):
    """lm.yaml's student keys are all at their defaults, which no way of building the student refuses: a pretrained
    teacher's student is its config unchanged, a from-scratch teacher's the GPT-2 of default.yaml's sizes."""
    import argparse

    from kd.nlp.data import WordTokenizer
    from kd.nlp.data.hf_tokenizer import HFTextTokenizer
    from kd.nlp.scripts.launch import load_nlp_config
    from kd.nlp.tasks.language_model import build_model, build_student

    cfg = load_nlp_config(argparse.Namespace(config="lm", overrides=[], seed=None, resume=None))
    sentences = write_text(tmp_path / "text")
    pretrained, tok = load_causal_lm(str(tiny_gpt2(tmp_path / "tiny-gpt2", sentences, n_layer=3)))
    assert isinstance(tok, HFTextTokenizer)
    student, _, kwargs = build_student(cfg, pretrained, tok)
    assert student.config.n_layer == 3 and kwargs is None  # the teacher's depth, not student.n_layer's
    words = WordTokenizer.build(sentences, min_freq=1)
    scratch, _ = build_model(cfg["teacher"], words, cfg["data"]["max_length"])
    student, _, kwargs = build_student(cfg, scratch, words)
    sizes = task_section("language_model")["student"]
    assert student.config.n_layer == sizes["n_layer"] and kwargs["n_embd"] == sizes["n_embd"]
