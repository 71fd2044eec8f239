"""Hand-checked temperatures of the NLP methods' KD terms. On fixed logits, each method's ``terms["kd"]`` must equal
T^2 * mean_i sum_c p_ic (log p_ic - log q_ic), p_i = softmax(teacher_i / T), q_i = softmax(student_i / T), over
the rows the method counts, written out below with math.exp and math.log. T = 3 tells a method that ignores its
temperature (T = 1) or drops the T^2 apart from a correct one."""
import math

import pytest
import torch
from transformers.modeling_outputs import CausalLMOutput, SequenceClassifierOutput

from kd.nlp.methods import CLASSIFICATION_METHODS, LM_METHODS, TRANSLATION_METHODS

T = 3.0


def hand_kd(student_rows, teacher_rows, temperature):
    """T^2 * mean over rows of KL(softmax(teacher / T) || softmax(student / T)), in plain Python."""
    def softmax(row):
        exps = [math.exp(z / temperature) for z in row]
        return [e / sum(exps) for e in exps]

    kls = []
    for s, t in zip(student_rows, teacher_rows, strict=True):
        p, q = softmax(t), softmax(s)
        kls.append(sum(p_c * (math.log(p_c) - math.log(q_c)) for p_c, q_c in zip(p, q)))
    return temperature**2 * sum(kls) / len(kls)


def fixed(logits, output=None):
    """A stand-in model that returns ``logits`` whatever its input, wrapped in ``output`` (a transformers class)."""
    return lambda *args, **kwargs: output(logits=logits) if output else logits


def check(kd, student_rows, teacher_rows):
    expected = hand_kd(student_rows, teacher_rows, T)
    assert expected != pytest.approx(hand_kd(student_rows, teacher_rows, 1.0))  # the logits tell T apart
    assert kd.item() == pytest.approx(expected, rel=1e-5)


def test_classification_kd_temperature_by_hand():
    student = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
    teacher = [[2.0, 0.0, 1.0], [1.0, 1.5, -2.0]]
    inputs = {"input_ids": torch.zeros(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 4, dtype=torch.long)}
    batch = {"inputs": {"student": inputs, "teacher": inputs}, "labels": torch.tensor([0, 1])}
    method = CLASSIFICATION_METHODS.get("kd")(temperature=T, alpha=1.0)
    terms = method(fixed(torch.tensor(student), SequenceClassifierOutput),
                   fixed(torch.tensor(teacher), SequenceClassifierOutput), batch)
    check(terms["kd"], student, teacher)


def test_seq2seq_kd_temperature_by_hand_over_real_target_tokens():
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, generator=g) * 2, torch.randn(2, 3, 4, generator=g) * 2
    tgt_mask = torch.tensor([[True, True, True], [True, True, False]])  # the last target of sentence 1 is padding
    batch = {"src": torch.zeros(2, 5, dtype=torch.long), "src_mask": torch.ones(2, 5, dtype=torch.bool),
             "tgt_in": torch.zeros(2, 3, dtype=torch.long), "tgt_out": torch.zeros(2, 3, dtype=torch.long),
             "tgt_mask": tgt_mask}
    terms = TRANSLATION_METHODS.get("word_kd")(alpha=1.0, temperature=T)(fixed(student), fixed(teacher), batch)
    real = [(b, t) for b in range(2) for t in range(3) if tgt_mask[b, t]]
    check(terms["kd"], [student[b, t].tolist() for b, t in real], [teacher[b, t].tolist() for b, t in real])


def test_causal_lm_kd_temperature_by_hand_over_real_next_tokens():
    g = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(2, 4, 5, generator=g) * 2, torch.randn(2, 4, 5, generator=g) * 2
    attention_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    batch = {"input_ids": torch.zeros(2, 4, dtype=torch.long), "attention_mask": attention_mask}
    terms = LM_METHODS.get("kd")(alpha=1.0, temperature=T)(fixed(student, CausalLMOutput),
                                                         fixed(teacher, CausalLMOutput), batch)
    # position t predicts token t + 1: counted where that token is real, so never the last position
    counted = [(b, t) for b in range(2) for t in range(3) if attention_mask[b, t + 1]]
    check(terms["kd"], [student[b, t].tolist() for b, t in counted], [teacher[b, t].tolist() for b, t in counted])
