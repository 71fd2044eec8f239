"""Small ResNet students built with the teacher's configurable :class:`ResNet` (no copied code).

``resnet_tiny``: depth 8, widths 8-8-16-32 (about 20k parameters): a convnet student for CIFAR-sized
or MNIST-sized images. ``resnet8``/``resnet14``/``resnet8x4`` (teacher_model.resnet) are the usual
CIFAR students of RepDistiller's tables and can be used as students directly.
"""
from __future__ import annotations

from kd.vision.model_registry import MODELS
from kd.vision.teacher_model.resnet import ResNet


@MODELS.register("resnet_tiny")
def resnet_tiny(num_classes: int, in_channels: int = 3, image_size: int = 32) -> ResNet:
    return ResNet(8, (8, 8, 16, 32), num_classes, in_channels)
