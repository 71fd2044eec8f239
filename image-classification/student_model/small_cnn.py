"""A small CNN student: the teacher's :class:`ConvNet` builder with narrow stages and one conv each."""
from __future__ import annotations

from typing import Sequence

from kd.vision.model_registry import MODELS
from kd.vision.teacher_model.cnn import ConvNet


@MODELS.register("small_cnn")
def small_cnn(num_classes: int, in_channels: int = 3, image_size: int | Sequence[int] = 32,
              channels: Sequence[int] = (8, 16), convs_per_stage: int = 1) -> ConvNet:
    """2 stages of one 3x3 conv (8, 16 channels): a few thousand parameters."""
    return ConvNet(num_classes, in_channels, image_size, channels, convs_per_stage)
