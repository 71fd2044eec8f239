"""Logit losses against hand computations and identities."""
import math

import pytest
import torch
import torch.nn.functional as F

from kd.common.losses import UNLABELLED, hinton_kd_loss, logit_mse, soft_label_cross_entropy, soft_target_kl


def test_soft_target_kl_hand_computed():
    # teacher p = softmax([0, ln 3]) = [1/4, 3/4]; student q = softmax([0, 0]) = [1/2, 1/2]; T = 1
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[0.0, math.log(3.0)]])
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert soft_target_kl(student, teacher, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_soft_target_kl_applies_temperature_and_t_squared():
    # at T = 2 the teacher's logits [0, 2 ln 3] soften to the same [1/4, 3/4]; the loss gains T^2 = 4
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[0.0, 2 * math.log(3.0)]])
    expected = 4 * (0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert soft_target_kl(student, teacher, temperature=2.0).item() == pytest.approx(expected, rel=1e-6)


def test_kl_of_equal_inputs_is_zero_and_positive_otherwise():
    logits = torch.randn(8, 5)
    assert soft_target_kl(logits, logits, temperature=4.0).item() == pytest.approx(0.0, abs=1e-6)
    assert soft_target_kl(torch.randn(8, 5), logits, temperature=4.0).item() > 0


def test_t_squared_keeps_gradient_scale_at_high_temperature():
    # d/dz of T^2 KL(p^T || q^T) = T (q^T - p^T) ~ (z_s - z_t)/C for large T: finite, T-independent
    torch.manual_seed(0)
    teacher = torch.randn(4, 10)
    grads = []
    for temperature in (20.0, 80.0):
        student = torch.randn(4, 10, generator=torch.Generator().manual_seed(1)).requires_grad_()
        soft_target_kl(student, teacher, temperature).backward()
        grads.append(student.grad.norm().item())
    assert grads[0] == pytest.approx(grads[1], rel=0.05)


def test_gradients_flow_to_student_only():
    student = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4, requires_grad=True)
    soft_target_kl(student, teacher, 3.0).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_mask_ignores_padded_rows():
    student, teacher = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    rows = [(0, 0), (0, 1), (1, 0)]
    expected = torch.stack([soft_target_kl(student[i, j : j + 1], teacher[i, j : j + 1], 2.0) for i, j in rows]).mean()
    assert soft_target_kl(student, teacher, 2.0, mask=mask).item() == pytest.approx(expected.item(), rel=1e-5)


def test_soft_label_cross_entropy_differs_from_kl_by_teacher_entropy():
    student, teacher = torch.randn(6, 4), torch.randn(6, 4)
    temperature = 3.0
    probs = F.softmax(teacher / temperature, -1)
    entropy = -(probs * probs.log()).sum(-1).mean()
    ce = soft_label_cross_entropy(student, probs, temperature)
    kl = soft_target_kl(student, teacher, temperature)
    assert (ce - kl).item() == pytest.approx((temperature**2 * entropy).item(), rel=1e-5)


def test_hinton_alpha_mixes_soft_and_hard_terms():
    student, teacher, labels = torch.randn(5, 3), torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    soft = soft_target_kl(student, teacher, 4.0)
    hard = F.cross_entropy(student, labels)
    assert hinton_kd_loss(student, teacher, labels, 4.0, alpha=1.0).item() == pytest.approx(soft.item(), rel=1e-6)
    assert hinton_kd_loss(student, teacher, labels, 4.0, alpha=0.0).item() == pytest.approx(hard.item(), rel=1e-6)
    mixed = hinton_kd_loss(student, teacher, labels, 4.0, alpha=0.3).item()
    assert mixed == pytest.approx(0.3 * soft.item() + 0.7 * hard.item(), rel=1e-6)
    # transfer-set rows (UNLABELLED) enter the KL term and not the CE term
    partly = torch.tensor([0, UNLABELLED, 2, UNLABELLED, 0])
    hard_of_labelled = F.cross_entropy(student[[0, 2, 4]], labels[[0, 2, 4]])
    mixed = hinton_kd_loss(student, teacher, partly, 4.0, alpha=0.3).item()
    assert mixed == pytest.approx(0.3 * soft.item() + 0.7 * hard_of_labelled.item(), rel=1e-6)


def test_logit_mse_hand_computed():
    student = torch.tensor([[1.0, 2.0]])
    teacher = torch.tensor([[0.0, 0.0]])
    assert logit_mse(student, teacher).item() == pytest.approx((1 + 4) / 2)


def test_logit_mse_is_twice_the_high_temperature_limit_of_the_kl():
    """Hinton et al. 2015, sec. 2.1: for zero-mean logits T^2 KL -> ||z_s - z_t||^2 / (2C) as T grows."""
    student, teacher = torch.tensor([[1.0, -1.0, 0.0]]), torch.tensor([[0.0, 0.5, -0.5]])
    assert logit_mse(student, teacher).item() == pytest.approx((1 + 2.25 + 0.25) / 3)
    for temperature, within in ((10.0, 1e-2), (30.0, 3e-3)):  # fp32 rounding, not the limit, bounds a larger T
        assert soft_target_kl(student, teacher, temperature).item() == pytest.approx(3.5 / 6, rel=within)


def test_labelled_cross_entropy_skips_unlabelled_rows():
    from kd.common.losses import labelled_cross_entropy

    # row 0: softmax([0, ln 3]) = [1/4, 3/4], label 1 -> -ln(3/4); row 1 unlabelled; row 2: [1/2, 1/2], label 0 -> ln 2
    logits = torch.tensor([[0.0, math.log(3.0)], [5.0, -5.0], [0.0, 0.0]], requires_grad=True)
    labels = torch.tensor([1, UNLABELLED, 0])
    loss = labelled_cross_entropy(logits, labels)
    assert loss.item() == pytest.approx((-math.log(0.75) + math.log(2.0)) / 2, rel=1e-6)
    loss.backward()
    assert torch.equal(logits.grad[1], torch.zeros(2))               # the unlabelled row gets no gradient
    full = torch.tensor([1, 0, 0])
    assert labelled_cross_entropy(logits, full).item() == pytest.approx(F.cross_entropy(logits, full).item(), rel=1e-6)
    none = labelled_cross_entropy(logits, torch.full((3,), UNLABELLED))
    assert none.item() == 0.0 and none.requires_grad                 # a batch without labels: 0, not NaN
