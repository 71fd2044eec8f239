"""FitNets: hints for thin deep nets (Romero, Ballas, Kahou, Chassang, Gatta & Bengio, ICLR 2015).

The student's *hint* layer (a middle stage) is passed through a learned regressor r (3x3 conv + BN +
ReLU, see :class:`~kd.vision.methods.projectors.HintRegressor`) and regressed onto the teacher's
*guided* layer:

    L = w_ce * CE(y, z_s) + w_hint * mean (r(F_s^hint) - F_t^guided)^2      (w_hint = 100 on CIFAR)

This is the single-stage form used by RepDistiller/mdistiller for their CIFAR tables (the paper trains
the hint first, then the whole student with KD). Config: ``method.name: fitnet``,
settings ``methods.fitnet: {hint_layer, guided_layer, weights: {ce, hint}}``; layers index the stage maps
(default: the middle stage of each model).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from torch import nn

from kd.common.engine import DistillationMethod
from kd.common.losses import hint_loss, labelled_cross_entropy
from kd.vision.methods.registry import METHODS
from kd.vision.methods.feature_taps import stage_map_shapes, student_outputs, teacher_outputs
from kd.vision.methods.projectors import HintRegressor


@METHODS.register("fitnet")
class FitNet(DistillationMethod):
    learns_from_unlabelled = True
    uses_teacher_features = True

    def __init__(self, teacher: nn.Module, student: nn.Module, num_classes: int, image_shape: Sequence[int],
                 hint_layer: int | None = None, guided_layer: int | None = None,
                 weights: Mapping[str, float] | None = None):
        super().__init__({"ce": 1.0, "hint": 100.0, **(weights or {})})
        s_shapes, t_shapes = stage_map_shapes(student, image_shape), stage_map_shapes(teacher, image_shape)
        self.hint_layer = len(s_shapes) // 2 if hint_layer is None else hint_layer
        self.guided_layer = len(t_shapes) // 2 if guided_layer is None else guided_layer
        for key, index, shapes, model in (("hint_layer", self.hint_layer, s_shapes, "student"),
                                          ("guided_layer", self.guided_layer, t_shapes, "teacher")):
            if not -len(shapes) <= index < len(shapes):
                raise ValueError(f"methods.fitnet.{key}={index} is not a stage map of the {model}, which has "
                                 f"{len(shapes)} (indices 0 to {len(shapes) - 1})")
        self.regressor = HintRegressor(s_shapes[self.hint_layer], t_shapes[self.guided_layer])

    def forward(self, student: nn.Module, teacher: nn.Module, batch: Any):
        images, labels = batch[0], batch[1]
        _, t_maps = teacher_outputs(teacher, images)
        logits, s_maps = student_outputs(student, images)
        hint = hint_loss(self.regressor(s_maps[self.hint_layer]), t_maps[self.guided_layer])
        return {"ce": labelled_cross_entropy(logits, labels), "hint": hint}
