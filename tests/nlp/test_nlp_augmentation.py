"""The augmented transfer set of text classification (``distill.augment``, Tang et al. 2019's data augmentation): the
procedure checked by hand (no change, all masked, n-grams, seeds, the unigram swap), its config errors, the
teacher-logits cache named by its settings, the mask token each tokenizer reads as one token, the methods' hard-label
term skipping its unlabelled sentences, and end to end a student that learns the teacher's rule from the augmented
sentences when the labelled ones are too few (the ``workspace`` teacher of tests/nlp/conftest.py)."""
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from kd.common.losses import UNLABELLED
from kd.nlp.data import WordTokenizer
from kd.nlp.data.augmentation import augment_sentences
from kd.nlp.scripts import distill
from kd.nlp.tasks.classification import transfer_set_settings
from kd.nlp.tasks.teacher_cache import teacher_cache_path
from kd.nlp.tokenizer_spec import tokenizer_from_spec, tokenizer_spec

SOURCES = ["the film is good", "a very dull and long story", "great acting", "one two three four five six seven"]
OFF = dict(p_mask=0.0, p_swap=0.0, p_ngram=0.0, max_ngram=5, seed=0)


def augment(sources=SOURCES, copies=3, **settings):
    return augment_sentences(sources, "[MASK]", copies=copies, **{**OFF, **settings})


def test_copies_without_any_change_equal_their_sources_and_are_dropped():
    assert augment() == []


def test_p_mask_one_masks_every_word():
    out = augment(p_mask=1.0)
    assert len(out) == 3 * len(SOURCES)
    assert [len(s.split()) for s in out] == [len(s.split()) for s in SOURCES for _ in range(3)]
    assert set(" ".join(out).split()) == {"[MASK]"}


def test_an_ngram_is_a_contiguous_slice_of_its_source_within_the_bounds():
    source = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9".split()
    out = augment([" ".join(source)], copies=50, p_ngram=1.0, max_ngram=3)
    assert len(out) == 50
    for sentence in out:
        words = sentence.split()
        start = source.index(words[0])
        assert 1 <= len(words) <= 3 and source[start:start + len(words)] == words
    assert {len(s.split()) for s in out} == {1, 2, 3}


def test_the_seed_decides_the_transfer_set():
    tang = dict(p_mask=0.1, p_swap=0.1, p_ngram=0.25)
    assert augment(**tang, seed=1) == augment(**tang, seed=1)
    assert augment(**tang, seed=1) != augment(**tang, seed=2)


def test_the_swap_draws_training_words_by_their_frequency():
    out = augment(["a a a a a a a a a b"], copies=300, p_swap=1.0)
    counts = Counter(" ".join(out).split())
    assert set(counts) == {"a", "b"}
    assert counts["b"] / sum(counts.values()) == pytest.approx(0.1, abs=0.02)  # 3000 draws, 1 in 10 a "b"


def test_the_bilstm_vocabulary_reads_the_mask_as_one_token_of_its_own():
    tokenizer = WordTokenizer.build(["the film is good"], min_freq=1, mask_token="[MASK]")
    mask_id = tokenizer.index["[MASK]"]
    assert mask_id not in (tokenizer.unk_token_id, tokenizer.pad_token_id)
    assert tokenizer.token_ids("the [MASK] is good[MASK]") == [tokenizer.index["the"], mask_id,
                                                                  tokenizer.index["is"], tokenizer.index["good"],
                                                                  mask_id]
    again = tokenizer_from_spec(tokenizer_spec(tokenizer))  # as a checkpoint rebuilds it
    assert again.token_ids("the [MASK]") == tokenizer.token_ids("the [MASK]")


def test_a_tokenizer_with_another_mask_token_reads_its_own():
    """A student with a tokenizer of its own (a pretrained one: RoBERTa's ``<mask>``) beside a BERT teacher."""
    from kd.nlp.data import ClassificationCollator

    own = WordTokenizer.build(["the film is good"], min_freq=1, mask_token="<mask>")
    batch = ClassificationCollator({"student": own}, mask_token="[MASK]")([{"text": "the [MASK] is good", "label": 0}])
    assert batch["inputs"]["student"]["input_ids"].tolist() == [own.token_ids("the <mask> is good")]
    assert own.index["<mask>"] in batch["inputs"]["student"]["input_ids"]


def test_the_teachers_tokenizer_reads_its_mask_token_as_one_token(workspace):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(workspace["root"] / "tiny-bert")
    (masked,) = augment_sentences(["w1 good w2"], tokenizer.mask_token, copies=1, **{**OFF, "p_mask": 1.0})
    ids = tokenizer(masked)["input_ids"]
    assert ids[1:-1] == [tokenizer.mask_token_id] * 3


@pytest.mark.parametrize("method", ["kd", "logit_mse"])
def test_the_hard_label_term_skips_unlabelled_sentences(method):
    from kd.nlp.methods import CLASSIFICATION_METHODS
    from transformers.modeling_outputs import SequenceClassifierOutput

    logits = torch.randn(4, 2)
    batch = {"inputs": {"student": {}}, "labels": torch.tensor([UNLABELLED, 1, UNLABELLED, 0]),
             "teacher_logits": torch.randn(4, 2)}
    cls = CLASSIFICATION_METHODS.get(method)
    terms = cls()(lambda: SequenceClassifierOutput(logits=logits), None, batch)
    assert cls.learns_from_unlabelled
    torch.testing.assert_close(terms["ce"], F.cross_entropy(logits[[1, 3]], torch.tensor([1, 0])))


@pytest.mark.parametrize("overrides, message", [
    (["distill.augment.p_mask=1.5"], "distill.augment.p_mask must be a probability in [0, 1], got 1.5"),
    (["distill.augment.p_ngram=-0.1"], "distill.augment.p_ngram must be a probability in [0, 1], got -0.1"),
    (["distill.augment.p_mask=0.6", "distill.augment.p_swap=0.5"],
     "distill.augment.p_mask + p_swap must be at most 1 (each word is masked, swapped or kept), got 0.6 + 0.5"),
    (["distill.augment.copies=-1"], "distill.augment.copies must be an integer >= 0, got -1"),
    (["distill.augment.copies=1.5"], "distill.augment.copies must be an integer >= 0, got 1.5"),
    (["distill.augment.max_ngram=0"], "distill.augment.max_ngram must be an integer >= 1, got 0"),
    (["distill.augment.copies=2", "method.name=supervised"],
     "distill.augment.copies=2 adds sentences that only a teacher labels; method.name=supervised has no teacher: "
     "use kd or logit_mse, or distill.augment.copies=0"),
    (["distill.augment.copies=2", "distill.mode=online"],
     "distill.augment.copies=2 needs distill.mode=offline: the teacher labels the augmented sentences once, with "
     "the training set"),
])
def test_config_errors_are_one_line_before_the_run_folder(overrides, message, sst2_refusal):
    assert sst2_refusal(distill, overrides) == f"error: {message}"


def test_the_cache_name_changes_with_the_augmentation(tmp_path):
    from kd.nlp.scripts.launch import load_nlp_config
    from argparse import Namespace

    def cache(*overrides):
        cfg = load_nlp_config(Namespace(config="sst2", overrides=[f"distill.cache_dir={tmp_path}", *overrides],
                                        seed=None, resume=None))
        return teacher_cache_path(cfg, None, transfer_set_settings(cfg), "teacher_logits.pt")

    plain, augmented = cache(), cache("distill.augment.copies=1")
    assert len({plain, augmented, cache("distill.augment.copies=2"), cache("distill.augment.copies=1",
                                                                          "distill.augment.p_mask=0.2"),
                cache("distill.augment.copies=1", "distill.augment.seed=1")}) == 5
    assert plain == cache("distill.augment.p_mask=0.2")  # no copies: the settings do not matter, nor change the name
    assert "augment" not in transfer_set_settings(load_nlp_config(Namespace(config="sst2", overrides=[], seed=None,
                                                                             resume=None)))


def test_the_cache_name_of_a_local_table_changes_when_the_table_is_edited_in_place(tmp_path):
    """Same path, same number of rows, another sentence: the teacher's cached logits are not those of this table."""
    from argparse import Namespace

    from kd.nlp.scripts.launch import load_nlp_config

    table = tmp_path / "train.tsv"

    def cache():
        overrides = ["data.name=local", f"data.train_file={table}", f"data.dev_file={table}",
                     f"distill.cache_dir={tmp_path}"]
        cfg = load_nlp_config(Namespace(config="sst2", overrides=overrides, seed=None, resume=None))
        return teacher_cache_path(cfg, None, transfer_set_settings(cfg), "teacher_logits.pt")

    table.write_text("text\tlabel\na fine film\tpos\n")
    before = cache()
    table.write_text("text\tlabel\na dull film\tneg\n")
    assert cache() != before


def test_the_student_learns_the_teacher_on_the_augmented_sentences(workspace, tmp_path, capsys):
    """24 labelled sentences are too few for the BiLSTM to learn which of the 36 words carry the sentiment; the
    teacher knows. With 16 augmented copies of each (more swaps and short n-grams than Tang et al.'s, which put the
    few sentiment words into new contexts and alone), labelled by the teacher alone (kd, alpha=1: no hard labels),
    the student agrees with the teacher on dev clearly more than from the 24 alone."""
    def run(copies):
        return distill.main(["--config", "sst2", "--runs-dir", str(tmp_path / f"runs{copies}"), *workspace["data"],
                             f"teacher.checkpoint={workspace['teacher']}", "threads=1", "data.train_subset=24",
                             "student.arch=bilstm", "student.embed_dim=16", "student.lstm_hidden=16",
                             "student.epochs=8", "student.lr=1e-2", "student.batch_size=8", "method.name=kd",
                             "methods.kd.alpha=1.0", f"distill.augment.copies={copies}", "distill.augment.p_swap=0.3",
                             "distill.augment.p_ngram=0.5", "distill.augment.max_ngram=3"])

    alone = run(0)
    augmented = run(16)
    out = capsys.readouterr().out
    assert "transfer set: 24 labelled + " in out and "augmented sentences (copies=16, p_mask=0.1, p_swap=0.3" in out
    assert augmented["agreement"] > alone["agreement"] + 10 and augmented["agreement"] > 85, (alone, augmented)
