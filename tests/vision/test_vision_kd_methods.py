"""A's vision methods (supervised, kd, soft_label_ce) against hand computations, online and offline."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kd.vision.methods import METHODS, teacher_logits_for


class Fixed(nn.Module):
    """A 'model' that returns given logits (the images are ignored), so losses can be computed by hand."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits


STUDENT = [[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]
TEACHER = [[1.0, 1.0, -2.0], [0.0, 3.0, 0.0]]
LABELS = torch.tensor([0, 1])
IMAGES = torch.zeros(2, 1, 2, 2)


def hand_kl(s, t, T):
    """T^2 * mean_i sum_c p_c (log p_c - log q_c) with p = softmax(t/T), q = softmax(s/T), written out."""
    total = 0.0
    for srow, trow in zip(s, t):
        zs = [math.exp(v / T) for v in srow]
        zt = [math.exp(v / T) for v in trow]
        q = [v / sum(zs) for v in zs]
        p = [v / sum(zt) for v in zt]
        total += sum(pc * (math.log(pc) - math.log(qc)) for pc, qc in zip(p, q))
    return T * T * total / len(s)


def build(name, **kwargs):
    return METHODS.build(name, teacher=None, student=None, num_classes=3, image_shape=(1, 2, 2), **kwargs)


def test_kd_online_matches_hand_computation():
    method = build("kd", temperature=2.0, alpha=0.7)
    terms = method(Fixed(STUDENT), Fixed(TEACHER), (IMAGES, LABELS))
    ce = F.cross_entropy(torch.tensor(STUDENT), LABELS).item()
    assert terms["kd"].item() == pytest.approx(hand_kl(STUDENT, TEACHER, 2.0), rel=1e-5)
    assert terms["ce"].item() == pytest.approx(ce, rel=1e-6)
    assert method.total(terms).item() == pytest.approx(0.3 * ce + 0.7 * hand_kl(STUDENT, TEACHER, 2.0), rel=1e-5)


def test_kd_offline_uses_cached_logits_and_never_the_teacher():
    method = build("kd", temperature=4.0, alpha=1.0)
    cached = torch.tensor(TEACHER)
    terms = method(Fixed(STUDENT), None, (IMAGES, LABELS, cached))
    assert terms["kd"].item() == pytest.approx(hand_kl(STUDENT, TEACHER, 4.0), rel=1e-5)
    with pytest.raises(ValueError, match="needs a teacher"):
        teacher_logits_for(None, (IMAGES, LABELS), IMAGES)


def test_soft_label_ce_differs_from_kl_by_teacher_entropy_and_has_same_gradient():
    T = 3.0
    student = Fixed(STUDENT)
    terms = build("soft_label_ce", temperature=T)(student, None, (IMAGES, LABELS, torch.tensor(TEACHER)))
    p = (torch.tensor(TEACHER) / T).softmax(-1)
    entropy = -(p * p.log()).sum(-1).mean().item()
    assert terms["soft_ce"].item() == pytest.approx(hand_kl(STUDENT, TEACHER, T) + T * T * entropy, rel=1e-5)
    terms["soft_ce"].backward()
    grad_ce = student.logits.grad.clone()
    student.logits.grad = None
    build("kd", temperature=T, alpha=1.0)(student, None, (IMAGES, LABELS, torch.tensor(TEACHER)))["kd"].backward()
    assert torch.allclose(grad_ce, student.logits.grad, atol=1e-6)


def test_supervised_is_cross_entropy_and_teacher_gets_no_gradient():
    student, teacher = Fixed(STUDENT), Fixed(TEACHER)
    terms = build("supervised")(student, None, (IMAGES, LABELS))
    assert list(terms) == ["ce"]
    assert terms["ce"].item() == pytest.approx(F.cross_entropy(torch.tensor(STUDENT), LABELS).item())
    build("kd")(student, teacher, (IMAGES, LABELS))["kd"].backward()
    assert teacher.logits.grad is None and student.logits.grad is not None
