"""Hand-checked values for the transformer losses (common/losses/transformer.py) and the text metrics."""
import math

import pytest
import torch

from kd.common.losses import soft_target_kl
from kd.common.losses.transformer import HiddenProjection, attention_map_loss, cosine_embedding_loss, hidden_state_mse
from kd.common.metrics.text import corpus_bleu, perplexity, token_nll
from kd.common.utils.errors import KDError


def test_hidden_state_mse_by_hand_with_mask_and_projection():
    student = torch.tensor([[[1.0, 2.0], [5.0, 5.0]]])  # (B=1, L=2, d_s=2)
    teacher = torch.tensor([[[2.0, 2.0, 0.0], [0.0, 0.0, 0.0]]])  # d_t = 3
    proj = HiddenProjection(2, 3)
    with torch.no_grad():
        proj.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        proj.linear.bias.zero_()
    mask = torch.tensor([[True, False]])
    # token 0 projects to (1, 2, 0); squared error (1, 0, 0) -> mean over d_t = 1/3; token 1 is masked out
    assert hidden_state_mse(student, teacher, proj, mask).item() == pytest.approx(1 / 3)
    # without the mask token 1 adds (25 + 25 + 0) / 3
    assert hidden_state_mse(student, teacher, proj).item() == pytest.approx((1 / 3 + 50 / 3) / 2)


def test_hidden_state_mse_needs_projection_for_different_sizes():
    with pytest.raises(KDError, match="HiddenProjection"):
        hidden_state_mse(torch.zeros(1, 2, 4), torch.zeros(1, 2, 8))


def test_hidden_state_mse_trains_projection_and_student_not_teacher():
    student = torch.randn(2, 3, 4, requires_grad=True)
    teacher = torch.randn(2, 3, 6, requires_grad=True)
    proj = HiddenProjection(4, 6)
    hidden_state_mse(student, teacher, proj).backward()
    assert student.grad is not None and proj.linear.weight.grad is not None
    assert teacher.grad is None


def test_attention_map_loss_by_hand():
    s = torch.tensor([[[[1.0, 0.0], [0.5, 0.5]]]])  # (B=1, h=1, L=2, L=2)
    t = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]]])
    # row 0: ((1)^2 + (1)^2)/2 = 1; row 1: 0 -> mean 0.5; with row 1 masked: 1
    assert attention_map_loss(s, t).item() == pytest.approx(0.5)
    assert attention_map_loss(s, t, torch.tensor([[True, False]])).item() == pytest.approx(1.0)


def test_attention_map_loss_of_a_sentence_does_not_depend_on_the_batchs_padding():
    """A 4-token sentence alone and padded to 10 (padded keys at probability 0, as a masked softmax gives them)."""
    s = torch.softmax(torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(0)), -1)
    t = torch.softmax(torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(1)), -1)
    padded_s, padded_t = (torch.nn.functional.pad(m, (0, 6, 0, 6)) for m in (s, t))
    mask = torch.arange(10)[None] < 4
    alone = attention_map_loss(s, t, torch.ones(1, 4, dtype=torch.bool))
    assert attention_map_loss(padded_s, padded_t, mask).item() == pytest.approx(alone.item(), rel=1e-6)
    assert alone.item() == pytest.approx((s - t).pow(2).mean().item(), rel=1e-6)


def test_attention_map_loss_head_counts():
    s = torch.softmax(torch.randn(2, 2, 3, 3), -1)
    t = torch.softmax(torch.randn(2, 4, 3, 3), -1)
    with pytest.raises(KDError, match="heads"):
        attention_map_loss(s, t)
    expected = (s.mean(1) - t.mean(1)).pow(2).mean()
    assert attention_map_loss(s, t, head_reduction="mean").item() == pytest.approx(expected.item(), rel=1e-5)


def test_cosine_embedding_loss_by_hand():
    s = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]])
    t = torch.tensor([[[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]]])  # same, orthogonal, opposite: 0, 1, 2
    assert cosine_embedding_loss(s, t).item() == pytest.approx(1.0)
    assert cosine_embedding_loss(s, t, torch.tensor([[True, True, False]])).item() == pytest.approx(0.5)
    with pytest.raises(KDError, match="equal hidden sizes"):
        cosine_embedding_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4))


def test_token_kl_ignores_padding_positions():
    s, t = torch.randn(2, 4, 7), torch.randn(2, 4, 7)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    base = soft_target_kl(s, t, 1.0, mask)
    s2 = s.clone()
    s2[~mask] = 100.0  # changing padded positions changes nothing
    assert soft_target_kl(s2, t, 1.0, mask).item() == pytest.approx(base.item())
    assert soft_target_kl(t, t, 1.0, mask).item() == pytest.approx(0.0, abs=1e-6)


def test_bleu_and_perplexity():
    refs = ["a man rides a bike down the road .", "two dogs play in the snow ."]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(["completely different words here"] * 2, refs) < 5
    uniform = torch.zeros(2, 3, 11)  # uniform over 11 tokens -> perplexity 11
    nll, n = token_nll(uniform, torch.randint(0, 11, (2, 3)), torch.tensor([[1, 1, 1], [1, 0, 0]]).bool())
    assert n == 4 and nll == pytest.approx(4 * math.log(11), rel=1e-5)
    assert perplexity(nll, n) == pytest.approx(11.0, rel=1e-5)
