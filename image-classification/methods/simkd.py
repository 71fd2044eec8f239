"""SimKD: "Knowledge Distillation with the Reused Teacher Classifier" (Chen, Mei, Zhang, Wang, Feng & Chen, CVPR 2022).

The student's last stage map F_s goes through a projector P (1x1 conv -> 3x3 conv -> 1x1 conv, BN +
ReLU each, reduction factor r) to the teacher's shape, and is trained to equal the teacher's last
stage map F_t. Classification reuses the teacher's *frozen* classifier W_t on the pooled projection:

    L = || P(F_s) - F_t ||^2 (mean over elements)       logits = W_t . pool_t(P(F_s))

so the deployable student is ``student backbone + projector + teacher classifier``
(:meth:`SimKD.inference_model`); the student's own classifier is never used. Evaluate through it.

Variants studied by the seed (all through its settings ``methods.simkd``):

- ``loss: kl`` -- T^2 KL(softmax(z_t/T) || softmax(logits/T)) on the logits instead of L2 on features;
- ``weights: {ce: 1.0}`` -- adds hard-label cross-entropy on the logits (default weight 0: logged only);
- ``projectors: K`` -- K *biased* projectors, all on the student's last stage map (the input of the
  student's pooling, its second-to-last layer); their outputs are averaged, and the average is what the
  loss and the classifier see (an ensemble of projectors);
- ``all_layers: true`` -- *unbiased* projectors, one per student stage: the projector of stage j maps the
  student's j-th stage map onto the teacher's j-th stage map (stages paired from the deepest one, spatial
  size matched by pooling), the L2 loss is summed over all stages, and the shared classifier at the end
  is the teacher's classifier applied to the deepest stage's projection (the earlier projectors are a
  training signal only and are not part of the deployed model).

The teacher's classifier reads its last stage map through the teacher's ``pool`` (global average pooling for
the CNN, ResNets and WRNs; airbench's 3x3 max-pool); SimKD applies that same pooling to the projection.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from kd.common.engine import DistillationMethod
from kd.common.losses import hint_loss, labelled_cross_entropy, soft_target_kl
from kd.common.utils.errors import ConfigError
from kd.vision.methods.registry import METHODS
from kd.vision.methods.feature_taps import (
    paired_stages,
    stage_map_shapes,
    stage_maps,
    student_outputs,
    teacher_outputs,
)
from kd.vision.methods.projectors import SimKDProjector, resize_to


class SimKDHead(nn.Module):
    """Projectors plus the teacher's frozen classifier, applied to a student's stage maps.

    ``forward(maps)`` -> ``(projections, logits)``: one projection per paired stage (the last one is the
    mean of the ``ensemble`` projectors of the deepest stage) and the logits of that last projection.
    """

    def __init__(self, student_shapes: Sequence[torch.Size], teacher_shapes: Sequence[torch.Size],
                 pairs: Sequence[tuple[int, int]], classifier: nn.Linear, factor: int = 2, ensemble: int = 1,
                 pool: nn.Module | None = None):
        super().__init__()
        self.student_stages = [i for i, _ in pairs]
        self.stage_projectors = nn.ModuleList(
            SimKDProjector(student_shapes[i], teacher_shapes[j], factor) for i, j in pairs[:-1])
        last_s, last_t = pairs[-1]
        self.last_projectors = nn.ModuleList(
            SimKDProjector(student_shapes[last_s], teacher_shapes[last_t], factor) for _ in range(ensemble))
        self.classifier = copy.deepcopy(classifier).requires_grad_(False)
        self.pool = copy.deepcopy(pool) if pool is not None else nn.AdaptiveAvgPool2d(1)

    def project_last(self, maps: Sequence[Tensor]) -> Tensor:
        x = maps[self.student_stages[-1]]
        return torch.stack([projector(x) for projector in self.last_projectors]).mean(0)

    def classify(self, projection: Tensor) -> Tensor:
        return self.classifier(self.pool(projection).flatten(1))

    def forward(self, maps: Sequence[Tensor]) -> tuple[list[Tensor], Tensor]:
        earlier = [p(maps[i]) for p, i in zip(self.stage_projectors, self.student_stages)]
        last = self.project_last(maps)
        return earlier + [last], self.classify(last)


class SimKDStudent(nn.Module):
    """What SimKD deploys: the student's backbone, the projector(s) and the teacher's classifier."""

    def __init__(self, student: nn.Module, head: SimKDHead):
        super().__init__()
        self.student, self.head = student, head

    @property
    def classifier(self) -> nn.Linear:
        return self.head.classifier

    def forward(self, x: Tensor) -> Tensor:
        _, feats = self.student(x, return_features=True)
        return self.head.classify(self.head.project_last(stage_maps(feats)))


SIMKD_LOSSES = ("l2", "kl")  # on the feature maps (the paper's) | on the logits


@METHODS.register("simkd")
class SimKD(DistillationMethod):
    """SimKD and its variants; see the module docstring. Loss terms: ``simkd`` and ``ce`` (weight 0 by default)."""
    learns_from_unlabelled = True
    uses_teacher_features = True
    copies_teacher = True  # the classifier, frozen when the method is built

    def __init__(self, teacher: nn.Module, student: nn.Module, num_classes: int, image_shape: Sequence[int],
                 factor: int = 2, loss: str = "l2", temperature: float = 4.0, projectors: int = 1,
                 all_layers: bool = False, weights: Mapping[str, float] | None = None):
        super().__init__({"simkd": 1.0, "ce": 0.0, **(weights or {})})
        if loss not in SIMKD_LOSSES:
            raise ConfigError(f"unknown SimKD loss '{loss}'; choose one of: {', '.join(SIMKD_LOSSES)}")
        if all_layers and (projectors != 1 or loss != "l2"):
            raise ConfigError("SimKD all_layers=true uses one projector per stage and the L2 loss; "
                              "leave projectors=1 and loss=l2")
        if projectors < 1:
            raise ConfigError(f"SimKD projectors must be >= 1, got {projectors}")
        s_shapes, t_shapes = stage_map_shapes(student, image_shape), stage_map_shapes(teacher, image_shape)
        pairs = paired_stages(len(s_shapes), len(t_shapes), None if all_layers else 1)
        self.teacher_stages = [j for _, j in pairs]
        self.loss_name, self.temperature = loss, temperature
        self.head = SimKDHead(s_shapes, t_shapes, pairs, teacher.classifier, factor, projectors,
                              getattr(teacher, "pool", None))

    def forward(self, student: nn.Module, teacher: nn.Module, batch: Any):
        images, labels = batch[0], batch[1]
        t_logits, t_maps = teacher_outputs(teacher, images)
        _, s_maps = student_outputs(student, images)
        projections, logits = self.head(s_maps)
        if self.loss_name == "kl":
            distill = soft_target_kl(logits, t_logits, self.temperature)
        else:
            targets = [t_maps[j] for j in self.teacher_stages]
            distill = sum(hint_loss(p, resize_to(t, p.shape[-2:])) for p, t in zip(projections, targets))
        return {"simkd": distill, "ce": labelled_cross_entropy(logits, labels)}

    def inference_model(self, student: nn.Module) -> nn.Module:
        """The model to evaluate and deploy: student backbone + projector(s) + the teacher's classifier."""
        return SimKDStudent(student, self.head)
