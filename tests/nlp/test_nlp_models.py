"""Students and teachers: DistilBERT-style init, the BiLSTM, shape/vocabulary guards, the packaged MiniLM."""
import pytest
import torch

from kd.common.utils.errors import KDError
from kd.nlp.methods import CLASSIFICATION_METHODS, check_method_fits
from kd.nlp.student_model import BiLSTMClassifier, alternate_layers, build_small_bert, init_from_teacher


def test_alternate_layers():
    assert alternate_layers(6, 3) == [0, 2, 4] and alternate_layers(12, 6) == [0, 2, 4, 6, 8, 10]
    with pytest.raises(KDError):
        alternate_layers(2, 4)


def test_distilbert_init_copies_alternate_teacher_layers():
    torch.manual_seed(0)
    teacher = build_small_bert(2, vocab_size=50, num_layers=4, hidden_size=32, num_heads=2, max_position_embeddings=16)
    student = build_small_bert(2, vocab_size=50, num_layers=2, hidden_size=32, num_heads=2, max_position_embeddings=16)
    assert init_from_teacher(student, teacher) == [0, 2]
    t_layer, s_layer = teacher.bert.encoder.layer[2].state_dict(), student.bert.encoder.layer[1].state_dict()
    assert all(torch.equal(t_layer[k], s_layer[k]) for k in t_layer)
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, teacher.bert.embeddings.word_embeddings.weight)
    for head in ("bert.pooler.dense.weight", "classifier.weight"):  # the pooler and classifier stay as built
        assert not torch.equal(student.get_parameter(head), teacher.get_parameter(head))
    narrow = build_small_bert(2, vocab_size=50, num_layers=2, hidden_size=16, num_heads=2, max_position_embeddings=16)
    with pytest.raises(KDError, match="hidden_size"):
        init_from_teacher(narrow, teacher)


def test_attention_maps_are_taken_before_dropout_and_the_forward_is_eager_attentions():
    """TinyBERT's loss regresses these maps: dropped ones (rows summing to 0.5-1.5 at p = 0.5) bias it."""
    torch.manual_seed(0)
    model = build_small_bert(2, vocab_size=50, num_layers=2, hidden_size=16, num_heads=2, dropout=0.5,
                             max_position_embeddings=16).train()
    ids, mask = torch.randint(0, 50, (3, 9)), torch.ones(3, 9, dtype=torch.long)
    mask[1, 6:] = 0
    for maps in model(input_ids=ids, attention_mask=mask, output_attentions=True).attentions:
        assert torch.allclose(maps.sum(-1), torch.ones(3, 2, 9), atol=1e-5)
        assert torch.all(maps[1, :, :, 6:] < 1e-6)  # padded keys get no attention
    model.eval()
    ours = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    model.config._attn_implementation = "eager"
    eager = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    assert torch.allclose(ours.logits, eager.logits, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours.attentions, eager.attentions))


def test_bilstm_handles_padding_and_refuses_position_losses():
    model = BiLSTMClassifier(vocab_size=20, num_labels=3, embed_dim=8, hidden_size=6, mlp_size=10).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9]])
    mask = (ids != 0).long()
    out = model(input_ids=ids, attention_mask=mask).logits
    assert out.shape == (2, 3)
    alone = model(input_ids=ids[:1, :3], attention_mask=mask[:1, :3]).logits  # padding changes nothing
    assert torch.allclose(out[0], alone[0], atol=1e-6)
    for method in ("tinybert", "distilbert"):  # they compare token positions: a student on its own vocabulary cannot
        with pytest.raises(KDError, match="teacher's tokenizer"):
            check_method_fits(method, "online", shares_tokenizer=False, student_arch="bilstm")
    for method in ("supervised", "kd", "logit_mse"):
        check_method_fits(method, "offline", shares_tokenizer=False, student_arch="bilstm")


def test_heads_that_do_not_divide_the_hidden_size_are_a_one_line_error():
    with pytest.raises(KDError, match=r"student.hidden_size=256 must be a multiple of student.num_heads=12"):
        build_small_bert(2, vocab_size=30, num_layers=1, hidden_size=256, num_heads=12)


def test_class_count_mismatch_is_a_one_line_error():
    teacher = build_small_bert(3, vocab_size=30, num_layers=1, hidden_size=16, num_heads=2, max_position_embeddings=8)
    student = build_small_bert(2, vocab_size=30, num_layers=1, hidden_size=16, num_heads=2, max_position_embeddings=8)
    inputs = {"input_ids": torch.tensor([[2, 5, 3]]), "attention_mask": torch.ones(1, 3, dtype=torch.long)}
    batch = {"labels": torch.tensor([1]), "inputs": {"teacher": inputs, "student": inputs}}
    with pytest.raises(KDError, match="same label set"):
        CLASSIFICATION_METHODS.get("kd")()(student, teacher, batch)


def test_packaged_minilm_loads_offline_with_eager_attention():
    from kd.nlp.teacher_model import load_hf_classifier, load_hf_tokenizer, packaged_minilm_path

    assert (packaged_minilm_path() / "model.safetensors").is_file()
    tokenizer = load_hf_tokenizer("minilm")
    model = load_hf_classifier("minilm", num_labels=2).eval()
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    with torch.inference_mode():
        out = model(**tokenizer(["a quick test ."], return_tensors="pt"), output_attentions=True)
    assert out.logits.shape == (1, 2) and len(out.attentions) == 6


def test_position_limit_reads_each_kind_of_position_table():
    """BERT: its table's rows; RoBERTa: two fewer (positions start after the padding index 1); GPT-2: n_positions;
    the translation transformer: max_length; a BiLSTM, DeBERTa-v3's relative positions (its config says 16) and
    XLNet (its config says -1): no limit."""
    from transformers import (DebertaV2Config, DebertaV2ForSequenceClassification, RobertaConfig,
                              RobertaForSequenceClassification, XLNetConfig, XLNetForSequenceClassification)

    from kd.nlp.teacher_model import TransformerSeq2Seq, build_gpt2_lm, check_max_length, position_limit

    sizes = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}
    roberta = RobertaForSequenceClassification(RobertaConfig(vocab_size=50, max_position_embeddings=18, pad_token_id=1,
                                                             **sizes))
    bert = build_small_bert(2, vocab_size=50, num_layers=1, hidden_size=16, num_heads=2, max_position_embeddings=16)
    translator = TransformerSeq2Seq(20, 20, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                    dim_feedforward=8, max_length=12)
    assert position_limit(bert) == 16 and position_limit(roberta) == 16
    roberta(input_ids=torch.full((1, 16), 5))  # the limit is what the model runs on: 16 tokens fit, 17 do not
    with pytest.raises((IndexError, RuntimeError)):
        roberta(input_ids=torch.full((1, 17), 5))
    assert position_limit(build_gpt2_lm(30, n_layer=1, n_embd=8, n_head=2, n_positions=24)) == 24
    assert position_limit(translator) == 12 and position_limit(BiLSTMClassifier(30, 2, 4, 4)) is None
    deberta = DebertaV2ForSequenceClassification(DebertaV2Config(
        vocab_size=50, max_position_embeddings=16, position_biased_input=False, relative_attention=True,
        pos_att_type=["p2c", "c2p"], **sizes))
    xlnet = XLNetForSequenceClassification(XLNetConfig(vocab_size=50, d_model=16, n_layer=1, n_head=2, d_inner=16))
    assert position_limit(deberta) is None and position_limit(xlnet) is None
    deberta(input_ids=torch.full((1, 40), 5))  # longer than its config's 16: it runs
    check_max_length(16, {"teacher": bert, "student": BiLSTMClassifier(30, 2, 4, 4), "none": None})
    with pytest.raises(KDError, match=r"data.max_length=17 is above the positions the model has \(the teacher's 16, "
                                      r"the student's 12\): set data.max_length=12 or lower"):
        check_max_length(17, {"teacher": roberta, "student": translator})


class MeanOfEmbeddings(torch.nn.Module):
    """A student of one's own for the registration test: mean word embedding -> logits."""

    def __init__(self, vocab_size: int, num_labels: int):
        super().__init__()
        self.embed, self.head = torch.nn.Embedding(vocab_size, 4), torch.nn.Linear(4, num_labels)

    def forward(self, input_ids, attention_mask, **_):
        return self.head(self.embed(input_ids).mean(1))


def test_one_registration_builds_a_student_and_reloads_its_checkpoint(monkeypatch, tmp_path):
    """``@classification_student(name, model=...)`` alone: ``student.arch=name`` builds it, and a checkpoint saved
    under that name (as distill saves it) reloads through kd.nlp.model_zoo, as do the built-in students'."""
    from kd.nlp.data import WordTokenizer
    from kd.nlp.model_zoo import load_nlp_model, save_nlp_model
    from kd.nlp.student_model.classification_students import (CLASSIFICATION_STUDENTS, BuiltStudent,
                                                               classification_student)
    from kd.nlp.tokenizer_spec import tokenizer_spec

    monkeypatch.setattr(CLASSIFICATION_STUDENTS, "_entries", dict(CLASSIFICATION_STUDENTS._entries))

    @classification_student("mean_of_embeddings", model=MeanOfEmbeddings)
    def build(section, num_labels, teacher, teacher_tokenizer, teacher_name, train_texts):
        tokenizer = WordTokenizer.build(train_texts)
        kwargs = {"vocab_size": len(tokenizer), "num_labels": num_labels}
        return BuiltStudent(MeanOfEmbeddings(**kwargs), tokenizer, kwargs, tokenizer_spec(tokenizer))

    texts = ["a fine film", "dull and slow"]
    for arch in ("mean_of_embeddings", "bilstm"):  # one of one's own, and a built-in one
        section = {"embed_dim": 8, "lstm_hidden": 6, "min_freq": 1}
        built = CLASSIFICATION_STUDENTS.get(arch).build(section, 3, None, None, None, texts)
        path = save_nlp_model(built.model, tmp_path / f"{arch}.pt", arch, built.kwargs, {"main": built.tokenizer_spec})
        model, tokenizers, _ = load_nlp_model(path)
        assert type(model) is type(built.model) and tokenizers["main"].state() == built.tokenizer.state()
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), built.model.state_dict().values()))


def test_a_classifiers_save_pretrained_folder_given_as_a_checkpoint_points_at_its_model_pt(tmp_path):
    """A classification run writes its transformers student twice: checkpoints/model.pt, which the scripts read, and
    checkpoints/model/ for the Auto classes; the folder is named as what it is, not as a causal LM."""
    from transformers import BertConfig

    from kd.common.utils.errors import CheckpointMismatchError
    from kd.nlp.model_zoo import load_nlp_model

    BertConfig(architectures=["BertForSequenceClassification"]).save_pretrained(tmp_path / "model")
    with pytest.raises(CheckpointMismatchError, match="is a sequence classifier .* pass the checkpoints/model.pt"):
        load_nlp_model(tmp_path / "model", expected_arch=("hf_classifier", "bilstm", "small_bert"))


@pytest.mark.parametrize("kind", ["causal LM", "seq2seq", "classifier, cls head", "classifier, mean pooled"])
def test_a_checkpoint_saved_in_bf16_loads_in_fp32(kind, tiny_gpt2, tiny_marian, tmp_path):
    """Weights saved in bf16 (as some hub models are published) load as fp32 masters: AdamW on bf16 weights rounds
    small updates away, and autocast, not the weights, is where this repository's low precision lives."""
    from transformers import (AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoModelForSequenceClassification,
                              BertConfig, BertForSequenceClassification, BertTokenizer)

    from kd.nlp.teacher_model import load_causal_lm, load_hf_classifier, load_seq2seq

    folder = tmp_path / "model"
    if kind == "causal LM":
        factory, load = AutoModelForCausalLM, lambda: load_causal_lm(str(folder))[0]
        tiny_gpt2(folder, ["a b c ."])
    elif kind == "seq2seq":
        factory, load = AutoModelForSeq2SeqLM, lambda: load_seq2seq(str(folder))[0]
        tiny_marian(folder, ["a b c .", "x y z ."])
    else:
        pooling = "cls" if kind.endswith("cls head") else "mean"
        factory, load = AutoModelForSequenceClassification, lambda: load_hf_classifier(str(folder), pooling=pooling)
        BertTokenizer(vocab={w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])}).save_pretrained(
            folder)
        BertForSequenceClassification(BertConfig(vocab_size=5, hidden_size=16, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=16)).save_pretrained(folder)
    factory.from_pretrained(folder).to(torch.bfloat16).save_pretrained(folder)
    assert factory.from_pretrained(folder).dtype == torch.bfloat16  # transformers keeps the dtype it was saved in
    assert {p.dtype for p in load().parameters()} == {torch.float32}
