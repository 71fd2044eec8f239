"""Pretrained encoder-decoders by name (a tiny Marian saved with save_pretrained stands in for opus-mt-de-en):
alternate-layer init for Marian and T5 stacks; train_teacher fine-tunes the pretrained teacher, distill builds a
smaller student from its config with word- and sequence-level KD, BLEU is computed on the detokenised cased output,
and the student folder reloads in transformers' Auto classes and in evaluate with the same BLEU."""
import gzip
import math
import random

import pytest
import torch

from kd.nlp.scripts import distill, evaluate, train_teacher
from kd.nlp.student_model import student_from_teacher_config
from kd.nlp.teacher_model import load_seq2seq

GERMAN = ["Hund", "Katze", "Mann", "Frau", "läuft", "sitzt", "rot", "blau"]
ENGLISH = ["dog", "cat", "man", "woman", "runs", "sits", "red", "blue"]


def write_corpus(folder):
    """Multi30k's gzip layout; English word i translates German word i, sentences start upper-case."""
    folder.mkdir()
    rng = random.Random(0)
    lines = {"de": [], "en": []}
    for split, n in (("train", 160), ("val", 20), ("test_2016_flickr", 20)):
        rows = [rng.choices(range(8), k=rng.randint(3, 5)) for _ in range(n)]
        for lang, words in (("de", GERMAN), ("en", ENGLISH)):
            text = [" ".join(words[i] for i in row) + " ." for row in rows]
            text = [t[0].upper() + t[1:] for t in text]
            lines[lang] += text
            with gzip.open(folder / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("\n".join(text) + "\n")
    return lines["de"] + lines["en"]


def test_alternate_layer_init_for_marian_and_t5(tiny_marian, tmp_path):
    from transformers import T5Config, T5ForConditionalGeneration

    marian, _, _ = load_seq2seq(str(tiny_marian(tmp_path / "marian", ["a b ."], layers=2)))
    student = student_from_teacher_config(marian.model, {"encoder_layers": 1, "decoder_layers": 1}, init="teacher")
    for name, value in student.state_dict().items():
        assert torch.equal(value, marian.model.state_dict()[name])  # layer 0 <- layer 0, the rest copied as it is
    torch.manual_seed(0)
    t5 = T5ForConditionalGeneration(T5Config(vocab_size=16, d_model=16, d_kv=8, d_ff=32, num_layers=4,
                                             num_decoder_layers=2, num_heads=2))
    small = student_from_teacher_config(t5, {"num_layers": 2, "num_decoder_layers": 1}, init="teacher")
    assert len(small.encoder.block) == 2 and len(small.decoder.block) == 1
    assert torch.equal(small.encoder.block[1].layer[1].DenseReluDense.wi.weight,
                       t5.encoder.block[2].layer[1].DenseReluDense.wi.weight)  # encoder 1 <- 2 (4 -> 2 layers)
    assert torch.equal(small.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight,
                       t5.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight)


def test_pretrained_translation_teacher_to_smaller_student(tiny_marian, tmp_path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    hub_like = tiny_marian(tmp_path / "tiny-marian", write_corpus(tmp_path / "corpus"), layers=2)
    common = ["--config", "NLP/configs/multi30k.yaml", "--runs-dir", str(tmp_path / "runs"),
              f"data.path={tmp_path / 'corpus'}", "threads=1", "evaluate.beam_size=2"]
    teacher = train_teacher.main(common + [f"teacher.name={hub_like}", "teacher.epochs=6", "teacher.batch_size=16",
                                           "teacher.lr=1e-2", "teacher.warmup=0", "teacher.label_smoothing=0"])
    assert teacher["val_ppl"] < 8 and math.isfinite(teacher["bleu"])  # uniform over its 33 tokens would be 33
    teacher_dir = next((tmp_path / "runs").glob("nlp-multi30k-train_teacher-*")) / "checkpoints" / "model"
    student = distill.main(common + [f"teacher.checkpoint={teacher_dir}",
                                     "student.config={encoder_layers: 1, decoder_layers: 1}", "student.init=teacher",
                                     "method.name=seq_word_kd", "methods.seq_word_kd.beam_size=2", "student.epochs=2",
                                     "student.batch_size=16", "student.lr=3e-3"])
    assert student["model"] == "student + sequence-level KD + word-level KD" and math.isfinite(student["bleu"])
    assert student["params"] < teacher["params"] and student["val_ppl"] < 12
    folder = next((tmp_path / "runs").glob("nlp-multi30k-distill-*")) / "checkpoints" / "model"
    model, tokenizer = AutoModelForSeq2SeqLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    out = model.generate(**tokenizer(["Hund läuft ."], return_tensors="pt"), num_beams=2, max_new_tokens=8)
    assert model.config.decoder_layers == 1 and isinstance(tokenizer.decode(out[0], skip_special_tokens=True), str)
    again = evaluate.main(common + [f"evaluate.checkpoint={folder}"])
    assert again["bleu"] == pytest.approx(student["bleu"])
    as_it_is = evaluate.main(common + [f"teacher.name={hub_like}"])  # no checkpoint: the pretrained teacher, untrained
    assert as_it_is["val_ppl"] > teacher["val_ppl"]


def test_student_with_another_vocabulary_is_refused_before_the_run(tiny_marian, tmp_path):
    from kd.common.utils.errors import KDError

    sentences = write_corpus(tmp_path / "corpus")
    teacher = tiny_marian(tmp_path / "teacher", sentences)
    other = tiny_marian(tmp_path / "other", [s.lower() for s in sentences], layers=1)
    with pytest.raises(KDError, match="different vocabularies"):
        distill.main(["--config", "NLP/configs/multi30k.yaml", "--runs-dir", str(tmp_path / "runs"),
                      f"data.path={tmp_path / 'corpus'}", f"teacher.name={teacher}", f"student.name={other}"])
    assert not (tmp_path / "runs").exists()
