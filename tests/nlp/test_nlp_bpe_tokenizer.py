"""The cased BPE tokenizer of from-scratch translation (``data.tokenizer=bpe``): cased text with punctuation comes
back from its ids unchanged, it survives a checkpoint loaded with ``weights_only=True``, and BLEU for it is
sacreBLEU's standard cased scoring of the detokenised text (a hypothesis wrong only in case loses points), while the
word tokenizer keeps its lower-cased scoring, labelled as such."""
import pytest
import torch

from kd.common.metrics.text import corpus_bleu
from kd.common.utils.errors import ConfigError
from kd.nlp.data import BPETokenizer, WordTokenizer, build_tokenizer
from kd.nlp.model_zoo import load_nlp_model, save_nlp_model
from kd.nlp.tokenizer_spec import tokenizer_spec
from kd.nlp.tasks.translation import STANDARD_BLEU, WORD_BLEU, bleu_references
from kd.nlp.teacher_model import TransformerSeq2Seq

SENTENCES = [
    "Ein Mann fährt Fahrrad auf der Straße.", "Eine Frau fährt ein rotes Auto.", "Zwei Männer spielen Fußball.",
    "Ein Kind spielt im Park, neben einem Hund.", "Ein Mann mit Hut liest eine Zeitung.",
    "A man rides a bike on the street.", "A woman drives a red car.", "Two men are playing soccer!",
    "A child plays in the park, next to a dog.", "A man in a hat reads a newspaper.",
    "What is the man doing? He reads: a newspaper.",
]


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.train(SENTENCES, vocab_size=80)


@pytest.mark.parametrize("text", ["Ein Mann fährt Fahrrad.", "A child, a dog: two men playing!"])
def test_cased_text_with_punctuation_comes_back_from_its_ids(tok, text):
    ids = tok.encode(text)
    assert tok.unk_token_id not in ids and len(ids) > len(text.split())  # subwords, none unknown
    assert tok.decode(ids) == text
    # what beam search returns: <bos> ... <eos> then padding; decoding stops at <eos>
    assert tok.decode(tok.encode(text, add_bos=True, add_eos=True) + [tok.pad_token_id, 7]) == text


def test_specials_whitespace_and_determinism(tok):
    assert [tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, tok.eos_token_id] == [0, 1, 2, 3]
    assert len(tok) == 80 and tok.vocabulary()["<eos>"] == 3
    assert tok.decode(tok.encode("  Zwei   Männer. ")) == "Zwei Männer."  # runs of spaces -> one; ends stripped
    assert BPETokenizer.train(SENTENCES, vocab_size=80).state() == tok.state()  # same text, same merges


def test_build_tokenizer_by_kind():
    assert isinstance(build_tokenizer("bpe", SENTENCES, min_freq=2, vocab_size=100), BPETokenizer)
    assert isinstance(build_tokenizer("word", SENTENCES, min_freq=2, vocab_size=100), WordTokenizer)
    with pytest.raises(ConfigError, match="unknown data.tokenizer 'bep'; choose one of bpe, word"):
        build_tokenizer("bep", SENTENCES, min_freq=2, vocab_size=100)


def test_checkpoint_round_trip_with_weights_only_loading(tok, tmp_path):
    kwargs = dict(src_vocab_size=len(tok), tgt_vocab_size=len(tok), d_model=16, nhead=2, num_encoder_layers=1,
                  num_decoder_layers=1, dim_feedforward=32, dropout=0.0, max_length=16)
    spec = tokenizer_spec(tok)
    path = save_nlp_model(TransformerSeq2Seq(**kwargs), tmp_path / "bpe_model.pt", "seq2seq_transformer", kwargs,
                          {"source": spec, "target": spec})
    raw = torch.load(path, weights_only=True)  # plain values only: the tokenizer is its JSON string
    assert raw["meta"]["tokenizers"]["target"] == {"kind": "bpe", "json": tok.state()}
    _, toks, _ = load_nlp_model(path, expected_arch=("seq2seq_transformer",))
    for role in ("source", "target"):
        assert isinstance(toks[role], BPETokenizer) and toks[role].vocabulary() == tok.vocabulary()
        assert toks[role].decode(toks[role].encode("Ein Mann fährt Fahrrad.")) == "Ein Mann fährt Fahrrad."


def test_bleu_is_cased_for_bpe_and_lower_cased_for_the_word_tokenizer(tok):
    references = ["A man rides a bike."]
    hypothesis = ["a man rides a bike."]  # wrong only in the case of its first letter
    refs, scoring = bleu_references(references, tok)
    assert refs == references and scoring == STANDARD_BLEU  # the references as they are
    # by hand: 13a splits off the period; 'a' != 'A', so n-gram precisions 5/6, 4/5, 3/4, 2/3, no brevity penalty:
    # BLEU = 100 * (5/6 * 4/5 * 3/4 * 2/3) ** (1/4) = 100 * (1/3) ** (1/4) = 75.98
    assert corpus_bleu(hypothesis, refs) == pytest.approx(100 * (1 / 3) ** 0.25, abs=0.01)
    assert corpus_bleu(references, refs) == pytest.approx(100.0)
    word = WordTokenizer.build(references, min_freq=1)
    refs, scoring = bleu_references(references, word)
    assert refs == ["a man rides a bike ."] and scoring == WORD_BLEU  # lower-cased words, labelled so
    assert corpus_bleu([word.decode(word.encode(hypothesis[0]))], refs) == pytest.approx(100.0)
