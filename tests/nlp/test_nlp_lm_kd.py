"""Causal-LM distillation: a token-KL step lowers the loss, vocabularies must match, the scripts run
teacher -> student (alone and with KD) on a tiny text-file fixture, and a student distilled from a teacher of
another text distribution continues sentences like the teacher, not like its own data."""
import random

import pytest
import torch

from kd.common.engine import Distiller
from kd.common.utils.errors import KDError
from kd.nlp.methods import LM_METHODS
from kd.nlp.model_zoo import load_nlp_model
from kd.nlp.scripts import distill, evaluate, train_teacher
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
    distiller = Distiller(student, LM_METHODS.get("kd")(alpha=1.0), torch.optim.Adam(student.parameters(), lr=3e-3),
                          device=torch.device("cpu"), teacher=teacher, progress=False)
    losses = [distiller.train_step(batch())["kd"].item() for _ in range(30)]
    assert losses[-1] < 0.6 * losses[0]


def test_token_kl_needs_the_same_vocabulary():
    teacher = build_gpt2_lm(40, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    student = build_gpt2_lm(30, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    with pytest.raises(KDError, match="same"):
        LM_METHODS.get("kd")()(student, teacher, batch())


def lm_args(runs, folder):
    """The scripts' arguments for sentence files ``folder/train.txt`` and ``folder/dev.txt``."""
    return ["--config", "NLP/configs/lm.yaml", "--runs-dir", str(runs), "data.name=text_files",
            f"data.train_file={folder / 'train.txt'}", f"data.dev_file={folder / 'dev.txt'}", "data.min_freq=1",
            "threads=2"]


def test_lm_scripts_end_to_end(tmp_path):
    rng = random.Random(0)
    subjects, verbs, objects = ["a dog", "the cat", "a man"], ["sees", "eats", "likes"], ["a ball", "the fish", "food"]
    for name, n in (("train.txt", 400), ("dev.txt", 50)):
        (tmp_path / name).write_text("".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} .\n"
                                             for _ in range(n)))
    common = lm_args(tmp_path / "runs", tmp_path)
    teacher = train_teacher.main(common + ["teacher.n_layer=2", "teacher.n_embd=32", "teacher.n_head=2",
                                           "teacher.epochs=4", "teacher.batch_size=32", "teacher.lr=3.0e-3"])
    assert teacher["val_ppl"] < 6  # 14 word types, but only ~3 choices at each position
    ckpt = next((tmp_path / "runs").glob("nlp-lm-train_teacher-*")) / "checkpoints" / "model.pt"
    student = distill.main(common + [f"teacher.checkpoint={ckpt}", "student.n_layer=1", "student.n_embd=16",
                                     "student.epochs=4", "student.batch_size=32", "student.lr=3.0e-3"])
    assert student["val_ppl"] < 8 and student["params"] < teacher["params"]
    run = next((tmp_path / "runs").glob("nlp-lm-distill-*"))
    summary = (run / "summary.md").read_text()  # the run's curves, embedded
    assert "![loss](plots/loss.png)" in summary and "![perplexity](plots/perplexity.png)" in summary
    for eval_batch in (128, 7):  # the default, and batches that split the 50 sentences unevenly: the same figure
        scored = evaluate.main(common + [f"evaluate.checkpoint={ckpt}", f"data.eval_batch_size={eval_batch}"])
        assert scored["val_ppl"] == pytest.approx(teacher["val_ppl"], rel=1e-5)


def test_lm_throughput_is_timed_on_the_first_validation_sentences_in_fp32(monkeypatch):
    """Not on the first length bucket, which holds the shortest sentences (it gave the 32 shortest), and in fp32, the
    numerics of the perplexity beside it."""
    from kd.nlp.data import WordTokenizer
    from kd.nlp.tasks import language_model

    sentences = [" ".join(["word"] * n) for n in (9, 2, 7, 1, 8, 3, 6, 1, 1, 1)]
    tok = WordTokenizer.build(sentences, min_freq=1)
    timed = {}

    def measure(model, batch, forward, precision):
        timed.update(batch=batch, precision=precision)
        return {"throughput": 1.0}

    monkeypatch.setattr(language_model, "measure_latency", measure)
    cfg = {"data": {"max_length": 64}, "evaluate": {"throughput_batch": 4}}
    language_model.sentences_per_second(None, sentences, tok, cfg)
    assert timed["batch"]["attention_mask"].sum(1).tolist() == [11, 4, 9, 3]  # <bos> .. <eos>, in file order
    assert timed["precision"] == "fp32"


def training_record(run) -> tuple:
    """What a run's ``last.pt`` says it trained with: (epochs, steps, AdamW's peak lr, its weight decay)."""
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    group = state["optimizer"]["param_groups"][0]
    return state["epoch"], state["global_step"], group["initial_lr"], group["weight_decay"]


def test_each_model_trains_with_the_settings_of_its_own_section(tmp_path):
    """``teacher.*`` are train_teacher's epochs, batch size (steps per epoch), learning rate and weight decay, and
    ``student.*`` distill's, as in vision."""
    for name in ("train.txt", "dev.txt"):
        (tmp_path / name).write_text("a dog sees a ball .\nthe cat eats the fish .\n" * 20)  # 40 sentences
    common = lm_args(tmp_path / "runs", tmp_path)
    train_teacher.main(common + ["teacher.n_layer=1", "teacher.n_embd=16", "teacher.n_head=2", "teacher.epochs=2",
                                 "teacher.batch_size=8", "teacher.lr=4e-3", "teacher.weight_decay=0.02"])
    teacher = next((tmp_path / "runs").glob("nlp-lm-train_teacher-*"))
    assert training_record(teacher) == (2, 2 * 5, 4e-3, 0.02)
    distill.main(common + [f"teacher.checkpoint={teacher / 'checkpoints' / 'model.pt'}", "student.n_layer=1",
                           "student.n_embd=8", "student.n_head=2", "student.epochs=3", "student.batch_size=20",
                           "student.lr=2e-3", "student.weight_decay=0.05"])
    student = next((tmp_path / "runs").glob("nlp-lm-distill-*"))
    assert training_record(student) == (3, 3 * 2, 2e-3, 0.05)


SUBJECTS, VERBS, OBJECTS = ["dog", "cat", "man"], ["sees", "eats", "likes"], ["ball", "fish", "food"]


def write_world(folder, shift):
    """Sentences '<subject> <verb> <object> .' in which SUBJECTS[i] always takes VERBS[(i + shift) % 3]: worlds with
    different shifts share the vocabulary but disagree on every verb."""
    folder.mkdir()
    rng = random.Random(shift)
    for name, n in (("train.txt", 300), ("dev.txt", 60)):
        subjects = rng.choices(range(3), k=n)
        (folder / name).write_text("".join(f"{SUBJECTS[i]} {VERBS[(i + shift) % 3]} {rng.choice(OBJECTS)} .\n"
                                           for i in subjects))


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """The student's world (its data) and the teacher's (other verbs), with a teacher trained once on its own."""
    root = tmp_path_factory.mktemp("lm_worlds")
    write_world(root / "student", 0)
    write_world(root / "teacher", 1)
    train_teacher.main(lm_args(root / "runs", root / "teacher") + [
        "teacher.n_layer=2", "teacher.n_embd=32", "teacher.n_head=2", "teacher.dropout=0", "teacher.epochs=2",
        "teacher.batch_size=16", "teacher.lr=1e-2", "teacher.warmup=0"])
    teacher = next((root / "runs").glob("nlp-lm-train_teacher-*")) / "checkpoints" / "model.pt"
    return {"root": root, "teacher": teacher}


def verb_choices(checkpoint, sentences):
    """The model's most likely word after each sentence's subject, and the sentences' own verbs (as ids)."""
    model, tokenizers, _ = load_nlp_model(checkpoint)
    ids = torch.tensor([tokenizers["main"].encode(s, add_bos=True, add_eos=True) for s in sentences])  # equal lengths
    with torch.no_grad():
        logits = model.eval()(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    return logits[:, 1].argmax(-1), ids[:, 2]  # position 1 (<bos> subject) predicts token 2, the verb


def share(a, b):
    """Percentage of positions where two id tensors agree."""
    return 100 * (a == b).float().mean().item()


def test_token_kl_makes_the_student_continue_like_the_teacher_not_like_its_data(worlds, tmp_path):
    """With a small CE weight on its own sentences and a large token-KL weight, the student picks the teacher's verb
    after a subject, not the one its data always uses; without the KL's gradient it learns its data's verbs."""
    student_world = worlds["root"] / "student"
    distill.main(lm_args(tmp_path / "runs", student_world) + [
        f"teacher.checkpoint={worlds['teacher']}", "student.n_layer=1", "student.n_embd=16", "student.dropout=0",
        "methods.kd.alpha=0.9", "student.epochs=2", "student.batch_size=16", "student.lr=1e-2",
        "student.warmup=0"])
    dev = (student_world / "dev.txt").read_text().splitlines()
    teacher_verbs, data_verbs = verb_choices(worlds["teacher"], dev)
    student_verbs, _ = verb_choices(next((tmp_path / "runs").glob("nlp-lm-distill-*")) / "checkpoints" / "model.pt",
                                    dev)
    assert share(teacher_verbs, data_verbs) < 10  # the teacher knows other verbs than the data says
    with_teacher, with_data = share(student_verbs, teacher_verbs), share(student_verbs, data_verbs)
    assert with_teacher > 85 and with_data < 30, (with_teacher, with_data)
