"""Tiny Hugging Face models in the save_pretrained layout, made offline: a word-level tokenizer trained with the
``tokenizers`` library on the given sentences (wrapped as a fast tokenizer) and a model of a tiny config with
random weights, written to one folder -- what ``teacher.name=FOLDER`` / ``student.name=FOLDER`` read, through the
same loading code as a hub id."""
import pytest

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
