"""Generalist + specialists (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network", sec. 5).

A *generalist* is trained on all C classes. Each *specialist* m covers a group S_m of classes that the
generalist confuses, plus one *dustbin* class standing for all the others, so it has |S_m| + 1 outputs.

- Groups (sec. 5.3): given in the config, or found by :func:`covariance_groups`: K-means on the columns
  of the covariance matrix of the generalist's predicted class probabilities, so classes that are often
  predicted together land in one group.
- Training: a specialist starts from the generalist's weights (:func:`init_from_generalist`) and learns
  from hard labels mapped to (S_m + dustbin) and from the generalist's soft targets mapped the same way,
  the dustbin receiving the probability of every class outside S_m (:class:`SpecialistKD`).
- Inference (sec. 5.4, :func:`combine_specialists`): for each test case take the generalist's n most
  probable classes k; the active specialists A_k are those whose S_m meets k; the prediction is the full
  distribution q minimising

      KL(p^g || q) + sum_{m in A_k} KL(p^m || merge_m(q)),

  where merge_m(q) is q over S_m plus, as the dustbin, the summed probability of all other classes.
  q = softmax(r) is found by gradient-based minimisation over its logits r (L-BFGS), starting from the
  generalist's logits.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.common.engine import DistillationMethod
from kd.common.losses import soft_target_kl
from kd.vision.methods._teacher import teacher_logits_for
from kd.vision.methods.registry import METHODS


# --------------------------------------------------------------------------------------- class mapping
def group_labels(labels: Tensor, classes: Sequence[int], num_classes: int) -> Tensor:
    """Map full-space labels to the specialist's space: position in ``classes``, else the dustbin ``len(classes)``."""
    table = torch.full((num_classes,), len(classes), dtype=torch.long, device=labels.device)
    table[torch.as_tensor(list(classes), device=labels.device)] = torch.arange(len(classes), device=labels.device)
    return table[labels]


def merge_log_probs(log_probs: Tensor, classes: Sequence[int]) -> Tensor:
    """log of a full distribution merged onto (``classes`` + dustbin): (N, C) -> (N, |classes| + 1).

    The dustbin's probability is the sum over every class outside ``classes`` (a log-sum-exp of their log-probs).
    """
    inside = torch.zeros(log_probs.shape[-1], dtype=torch.bool, device=log_probs.device)
    inside[list(classes)] = True
    dustbin = torch.logsumexp(log_probs.masked_fill(inside, float("-inf")), dim=-1, keepdim=True)
    return torch.cat([log_probs[:, list(classes)], dustbin], dim=-1)


# ---------------------------------------------------------------------------------------------- groups
def prediction_covariance(probs: Tensor) -> Tensor:
    """C x C covariance of the generalist's predicted probabilities over examples (rows of ``probs``)."""
    centred = probs.double() - probs.double().mean(0, keepdim=True)
    return (centred.t() @ centred / max(1, probs.shape[0] - 1)).float()


def kmeans(points: Tensor, k: int, seed: int = 0, iterations: int = 100) -> Tensor:
    """Lloyd's K-means with k-means++ seeding; returns the cluster index of each row of ``points``."""
    g = torch.Generator().manual_seed(seed)
    points = points.double()
    centres = points[torch.randint(len(points), (1,), generator=g)]
    while len(centres) < k:
        d2 = torch.cdist(points, centres).min(1).values.pow(2)
        if d2.sum() > 0:
            pick = torch.multinomial(d2 / d2.sum(), 1, generator=g)
        else:
            pick = torch.randint(len(points), (1,), generator=g)
        centres = torch.cat([centres, points[pick]])
    assign = torch.cdist(points, centres).argmin(1)
    for _ in range(iterations):
        centres = torch.stack([points[assign == j].mean(0) if (assign == j).any() else centres[j] for j in range(k)])
        new = torch.cdist(points, centres).argmin(1)
        if torch.equal(new, assign):
            break
        assign = new
    return assign


def covariance_groups(probs: Tensor, n_groups: int, seed: int = 0) -> list[list[int]]:
    """Groups of classes the generalist predicts together: K-means on the covariance matrix's columns.

    Returns the non-empty clusters as sorted class lists, largest first.
    """
    assign = kmeans(prediction_covariance(probs).t(), n_groups, seed)
    groups = [sorted(torch.nonzero(assign == j).flatten().tolist()) for j in range(n_groups)]
    return sorted((g for g in groups if g), key=lambda g: (-len(g), g))


# ------------------------------------------------------------------------------------------- training
def output_layer(model: nn.Module) -> nn.Linear:
    """The linear layer that gives ``model``'s logits: its ``classifier``, or the last Linear of a classifier that is
    a Sequential (torchvision's MobileNets and EfficientNets: dropout, then the layer)."""
    head = model.classifier
    return [m for m in head.modules() if isinstance(m, nn.Linear)][-1] if isinstance(head, nn.Sequential) else head


@torch.no_grad()
def init_from_generalist(specialist: nn.Module, generalist: nn.Module, classes: Sequence[int]) -> None:
    """Copy every generalist tensor of matching shape; the output layer's rows for ``classes`` come from the
    generalist's rows of those classes and the dustbin row from the mean of the other rows, its bias (where the
    layer has one: airbench's has none) raised by log(#others) so that its logit starts near the log-sum-exp of
    theirs."""
    own, source = specialist.state_dict(), generalist.state_dict()
    own.update({k: v for k, v in source.items() if k in own and own[k].shape == v.shape})
    specialist.load_state_dict(own)
    general, special = output_layer(generalist), output_layer(specialist)
    others = [c for c in range(general.weight.shape[0]) if c not in set(classes)]
    special.weight[: len(classes)] = general.weight[list(classes)]
    special.weight[len(classes)] = general.weight[others].mean(0)
    if general.bias is not None and special.bias is not None:
        special.bias[: len(classes)] = general.bias[list(classes)]
        special.bias[len(classes)] = general.bias[others].mean() + torch.log(torch.tensor(float(len(others))))


@METHODS.register("specialist")
class SpecialistKD(DistillationMethod):
    """Train a specialist on ``classes`` + dustbin from hard labels and the generalist's merged soft targets.

    L = (1 - alpha) CE(map(y), q) + alpha T^2 KL(merge(p_g^T) || q^T), both over |classes| + 1 outputs;
    the teacher is the generalist (online) or its logits come cached in the batch (offline).
    """

    def __init__(self, teacher: nn.Module | None, student: nn.Module, num_classes: int,
                 image_shape: Sequence[int], classes: Sequence[int] = (), temperature: float = 2.0,
                 alpha: float = 0.5, full_classes: int | None = None, weights: Mapping[str, float] | None = None):
        super().__init__({"ce": 1.0 - alpha, "kd": alpha, **(weights or {})})
        if not classes:
            raise ValueError("a specialist needs its list of classes (methods.specialist.classes)")
        self.classes, self.temperature = list(classes), temperature
        self.full_classes = full_classes or teacher.classifier.out_features

    def forward(self, student: nn.Module, teacher: nn.Module | None, batch: Any):
        images, labels = batch[0], batch[1]
        generalist_logits = teacher_logits_for(teacher, batch, images).float()
        logits = student(images)
        t = self.temperature
        merged = merge_log_probs(F.log_softmax(generalist_logits / t, -1), self.classes)
        # soft_target_kl softens its target by T: merged log-probs times T are logits whose softmax at T is merged
        soft = soft_target_kl(logits, t * merged, t)
        hard = F.cross_entropy(logits, group_labels(labels, self.classes, self.full_classes))
        return {"ce": hard, "kd": soft}


# ------------------------------------------------------------------------------------------ inference
def active_specialists(generalist_logits: Tensor, groups: Sequence[Sequence[int]], top_n: int) -> Tensor:
    """(N, M) bool: specialist m is active for case i when its group meets the generalist's top-n classes."""
    top = generalist_logits.topk(min(top_n, generalist_logits.shape[-1]), dim=-1).indices
    member = torch.zeros(len(groups), generalist_logits.shape[-1], dtype=torch.bool)
    for m, group in enumerate(groups):
        member[m, list(group)] = True
    return member[:, top].any(-1).t()


def combine_specialists(generalist_logits: Tensor, specialist_logits: Sequence[Tensor],
                        groups: Sequence[Sequence[int]], top_n: int = 1, max_iter: int = 200) -> Tensor:
    """Full-class log-probabilities log q (N, C) minimising KL(p^g||q) + sum_{m active} KL(p^m||merge_m(q)).

    ``specialist_logits[m]`` is (N, |groups[m]| + 1), dustbin last. Cases with no active specialist get q = p^g.
    """
    g_log = F.log_softmax(generalist_logits.double(), -1)
    active = active_specialists(generalist_logits, groups, top_n).double()
    s_log = [F.log_softmax(s.double(), -1) for s in specialist_logits]
    r = g_log.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([r], lr=1.0, max_iter=max_iter, tolerance_grad=1e-10, tolerance_change=1e-12,
                                  line_search_fn="strong_wolfe")

    def objective() -> Tensor:
        optimizer.zero_grad()
        log_q = F.log_softmax(r, -1)
        loss = F.kl_div(log_q, g_log, log_target=True, reduction="none").sum(-1)
        for m, group in enumerate(groups):
            merged = merge_log_probs(log_q, group)
            kl = F.kl_div(merged, s_log[m], log_target=True, reduction="none").sum(-1)
            loss = loss + active[:, m] * kl
        total = loss.sum()
        total.backward()
        return total

    optimizer.step(objective)
    return F.log_softmax(r.detach(), -1).float()


def correct_for_enrichment(specialist_logits: Tensor, in_group_fraction: float, sampled_fraction: float) -> Tensor:
    """Undo the prior shift of a specialist trained on enriched data (sec. 5.2): its group's classes made up
    ``sampled_fraction`` of the training draws but ``in_group_fraction`` of the data. Bayes' rule adds
    log(true / sampled) prior ratios: log(f / s) to the group's logits, log((1 - f) / (1 - s)) to the dustbin's."""
    shift = torch.full_like(specialist_logits[:1], torch.log(torch.tensor(in_group_fraction / sampled_fraction)).item())
    shift[:, -1] = torch.log(torch.tensor((1 - in_group_fraction) / (1 - sampled_fraction))).item()
    return specialist_logits + shift
