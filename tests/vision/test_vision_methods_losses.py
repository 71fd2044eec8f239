"""Hand-checked values of the feature and DKD losses (kd.common.losses.feature / dkd)."""
import math

import pytest
import torch
import torch.nn.functional as F

from kd.common.losses import (attention_map, attention_transfer_loss, dkd_loss, hint_loss, nckd_loss,
                              similarity_preserving_loss, soft_target_kl, tckd_loss)


def test_attention_map_by_hand():
    # one example, 2 channels, 1x2 positions: channel 0 = [1, 2], channel 1 = [3, 0]
    a = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])
    # mean_c A^2 = [(1 + 9) / 2, (4 + 0) / 2] = [5, 2]; normalised by sqrt(29)
    expected = torch.tensor([[5.0, 2.0]]) / math.sqrt(29.0)
    assert torch.allclose(attention_map(a), expected)
    # |A|^p with p=2 ignores signs
    assert torch.allclose(attention_map(-a), expected)


def test_attention_transfer_loss_by_hand():
    s = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])          # map [5, 2] / sqrt(29)
    t = torch.tensor([[[[1.0, 0.0]], [[1.0, 0.0]]]])          # map [1, 0]
    q = 5.0 / math.sqrt(29.0), 2.0 / math.sqrt(29.0)
    expected = ((q[0] - 1.0) ** 2 + q[1] ** 2) / 2            # mean over the 2 positions
    assert attention_transfer_loss([s], [t]).item() == pytest.approx(expected, rel=1e-6)
    # two stages add up; identical maps give 0
    assert attention_transfer_loss([s, s], [t, s]).item() == pytest.approx(expected, rel=1e-6)
    assert attention_transfer_loss([t], [3 * t]).item() == pytest.approx(0.0, abs=1e-7)


def test_attention_transfer_pools_the_larger_map():
    s = torch.rand(2, 3, 4, 4)
    t = torch.rand(2, 5, 8, 8)
    loss = attention_transfer_loss([s], [t])
    expected = (attention_map(s) - attention_map(F.adaptive_avg_pool2d(t, 4))).pow(2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_hint_loss_zero_for_identical_and_mse_otherwise():
    f = torch.randn(2, 3, 4, 4)
    assert hint_loss(f, f).item() == 0.0
    assert hint_loss(torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)).item() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        hint_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))


def test_hint_loss_gradient_reaches_the_student_only():
    s = torch.randn(2, 3, 2, 2, requires_grad=True)
    t = torch.randn(2, 3, 2, 2, requires_grad=True)
    hint_loss(s, t).backward()
    assert s.grad is not None and t.grad is None


def test_similarity_preserving_loss():
    f = torch.randn(4, 3, 2, 2)
    assert similarity_preserving_loss(f, f).item() == pytest.approx(0.0, abs=1e-7)
    # only the batch similarities count: a different width with the same Gram structure also gives 0
    assert similarity_preserving_loss(f, torch.cat([f, f], dim=1)).item() == pytest.approx(0.0, abs=1e-6)
    assert similarity_preserving_loss(f, torch.randn(4, 5)).item() > 0
    # by hand, N = 2: orthogonal student rows give G_s = I; two equal teacher rows give Q Q^T = all ones, whose
    # normalised rows are (1, 1) / sqrt 2; ||G_s - G_t||_F^2 = 2 ((1 - 1/sqrt 2)^2 + 1/2) = 4 - 2 sqrt 2, over N^2 = 4
    student, teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert similarity_preserving_loss(student, teacher).item() == pytest.approx((4 - 2 * math.sqrt(2)) / 4, rel=1e-6)
    # the similarities stay fp32 under autocast, as the Distiller runs every method
    s, t = torch.randn(64, 32, 4, 4), torch.randn(64, 16, 4, 4)
    fp32 = similarity_preserving_loss(s, t).item()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert similarity_preserving_loss(s, t).item() == pytest.approx(fp32, rel=1e-6)


def _kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))


def test_dkd_terms_against_a_direct_computation():
    zs, zt, y, T = [1.0, 2.0, 0.5], [3.0, 1.0, -1.0], 0, 2.0
    soft = lambda z: [math.exp(v / T) / sum(math.exp(u / T) for u in z) for v in z]  # noqa: E731
    ps, pt = soft(zs), soft(zt)
    tckd = T**2 * _kl([pt[0], 1 - pt[0]], [ps[0], 1 - ps[0]])
    hat = lambda p: [p[1] / (p[1] + p[2]), p[2] / (p[1] + p[2])]  # noqa: E731  non-target classes 1, 2
    nckd = T**2 * _kl(hat(pt), hat(ps))
    s, t, labels = torch.tensor([zs]), torch.tensor([zt]), torch.tensor([y])
    assert tckd_loss(s, t, labels, T).item() == pytest.approx(tckd, rel=1e-5)
    assert nckd_loss(s, t, labels, T).item() == pytest.approx(nckd, rel=1e-5)
    assert dkd_loss(s, t, labels, alpha=1.0, beta=8.0, temperature=T).item() == pytest.approx(tckd + 8 * nckd, rel=1e-5)
    # the decomposition of the paper: KD = TCKD + (1 - p_t^teacher) NCKD
    kd = soft_target_kl(s, t, T).item()
    assert kd == pytest.approx(tckd + (1 - pt[0]) * nckd, rel=1e-5)


def test_dkd_is_zero_for_equal_logits_and_averages_over_the_batch():
    z = torch.randn(5, 7)
    labels = torch.randint(0, 7, (5,))
    assert dkd_loss(z, z, labels).item() == pytest.approx(0.0, abs=1e-5)
    s, t = torch.randn(2, 4), torch.randn(2, 4)
    y = torch.tensor([1, 3])
    both = dkd_loss(s, t, y).item()
    one_by_one = (dkd_loss(s[:1], t[:1], y[:1]).item() + dkd_loss(s[1:], t[1:], y[1:]).item()) / 2
    assert both == pytest.approx(one_by_one, rel=1e-5)
