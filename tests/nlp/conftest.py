"""Tiny Hugging Face models in the save_pretrained layout, made offline: a word-level tokenizer trained with the
``tokenizers`` library on the given sentences (wrapped as a fast tokenizer) and a model of a tiny config with
random weights, written to one folder -- what ``teacher.name=FOLDER`` / ``student.name=FOLDER`` read, through the
same loading code as a hub id; and ``sst2_refusal``, an NLP script's one-line refusal of a config."""
import pytest

from kd.common.utils.cli import main_entry

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]  # ids 0..3


def save_tokenizer(sentences, folder):
    """A word-level fast tokenizer over the sentences' words (lower- and upper-case kept), saved into ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece()  # joins words with spaces, no space before punctuation
    tokenizer.train_from_iterator(sentences, trainers.WordLevelTrainer(special_tokens=SPECIALS))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>")
    fast.save_pretrained(folder)
    return fast


@pytest.fixture(scope="session")
def tiny_gpt2():
    """``tiny_gpt2(folder, sentences, n_layer=2, seed=0)``: a GPT-2 of width 32 and its tokenizer in ``folder``."""
    def make(folder, sentences, n_layer=2, seed=0):
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel

        tokenizer = save_tokenizer(sentences, folder)
        torch.manual_seed(seed)
        GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_layer=n_layer, n_embd=32, n_head=2, n_positions=64,
                                   pad_token_id=0, bos_token_id=2, eos_token_id=3)).save_pretrained(folder)
        return folder
    return make


@pytest.fixture(scope="session")
def tiny_marian():
    """``tiny_marian(folder, sentences, layers=2, seed=0)``: a Marian encoder-decoder of width 32 with one tokenizer
    for both languages (built from ``sentences``, source and target) in ``folder``."""
    def make(folder, sentences, layers=2, seed=0):
        import torch
        from transformers import MarianConfig, MarianMTModel

        tokenizer = save_tokenizer(sentences, folder)
        torch.manual_seed(seed)
        config = MarianConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=layers, decoder_layers=layers,
                              encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                              decoder_ffn_dim=64, max_position_embeddings=64, pad_token_id=0, eos_token_id=3,
                              decoder_start_token_id=0, forced_eos_token_id=3, dropout=0.0,
                              scale_embedding=True)  # as the opus-mt configs
        MarianMTModel(config).save_pretrained(folder)
        return folder
    return make


POSITIVE, NEGATIVE = ["good", "great", "superb"], ["bad", "awful", "poor"]
NEUTRAL = [f"w{i}" for i in range(30)]


def sentiment_sentences(n, rng):
    """``n`` rows (sentence, label) of a tiny sentiment task: 3-7 neutral words and one positive (label 1) or
    negative (label 0) word at a random place."""
    rows = []
    for _ in range(n):
        words = rng.choices(NEUTRAL, k=rng.randint(3, 7))
        label = rng.randint(0, 1)
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append((" ".join(words), label))
    return rows


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """A tiny BERT teacher fine-tuned by ``train_teacher`` on :func:`sentiment_sentences` (640 training, 120 dev
    rows as local .tsv files, and their label flips ``flipped_*.tsv``): ``{"root", "data": the data overrides,
    "teacher": its model.pt, "teacher_final", "dev_texts"}``."""
    import random
    import re

    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    from kd.nlp.scripts import train_teacher

    root = tmp_path_factory.mktemp("nlp_e2e")
    rng = random.Random(0)
    for name, n in (("train.tsv", 640), ("dev.tsv", 120)):
        rows = sentiment_sentences(n, rng)
        (root / name).write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
        (root / f"flipped_{name}").write_text("text\tlabel\n" + "".join(f"{t}\t{1 - y}\n" for t, y in rows))
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + POSITIVE + NEGATIVE + NEUTRAL
    folder = root / "tiny-bert"
    BertTokenizer(vocab={w: i for i, w in enumerate(words)}).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=41, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(folder)
    data = ["data.name=local", f"data.train_file={root / 'train.tsv'}", f"data.dev_file={root / 'dev.tsv'}",
            "data.max_length=16", f"teacher.name={folder}", "threads=2"]
    final = train_teacher.main(["--config", "NLP/configs/sst2.yaml", "--runs-dir", str(root / "runs"), *data,
                                "teacher.epochs=6", "teacher.lr=3e-3", "teacher.batch_size=32"])
    (run,) = (root / "runs").iterdir()
    assert re.fullmatch(r"nlp-sst2-train_teacher-s0-\d{8}-\d{6}", run.name)  # the preset's name and seed
    teacher = run / "checkpoints" / "model.pt"
    dev_texts = [line.split("\t")[0] for line in (root / "dev.tsv").read_text().splitlines()[1:]]
    return {"root": root, "data": data, "teacher": teacher, "teacher_final": final, "dev_texts": dev_texts}


@pytest.fixture
def sst2_refusal(tmp_path, capsys):
    """``refusal(script, argv)``: the one stderr line with which ``script`` (an NLP script module, on the sst2 preset
    and ``argv``) refuses to run: exit code 2, one line, and no run folder made."""
    def refusal(script, argv) -> str:
        runs = tmp_path / "runs"
        with pytest.raises(SystemExit) as exit_info:
            main_entry(script.main, ["--config", "sst2", "--runs-dir", str(runs), *argv])
        assert exit_info.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and not runs.exists()
        return lines[0]

    return refusal
