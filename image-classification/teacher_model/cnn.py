"""A plain convolutional network sized for small images (8x8 digits, 28x28 MNIST), and its builder.

Stage ``i`` = (2x2 max-pool, except before the first stage) + ``convs_per_stage`` x [3x3 conv, BN, ReLU].
After the last stage a global average pool gives the embedding that the linear classifier reads.
``feats`` = the output of each stage (after its last ReLU, before the next pool) + the pooled embedding.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from kd.vision.data.transforms import image_hw
from kd.vision.model_registry import MODELS


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ConvNet(nn.Module):
    """Stacked conv stages -> global average pool -> ``classifier`` (an ``nn.Linear``)."""

    def __init__(self, num_classes: int, in_channels: int = 3, image_size: int | Sequence[int] = 32,
                 channels: Sequence[int] = (32, 64), convs_per_stage: int = 2):
        super().__init__()
        stages, c_in, size = [], in_channels, min(image_hw(image_size, "image_size"))
        for i, c_out in enumerate(channels):
            layers: list[nn.Module] = []
            if i > 0 and size >= 2:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            for j in range(convs_per_stage):
                layers.append(conv_bn_relu(c_in if j == 0 else c_out, c_out))
            stages.append(nn.Sequential(*layers))
            c_in = c_out
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor, return_features: bool = False):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        embedding = torch.flatten(self.pool(x), 1)
        logits = self.classifier(embedding)
        return (logits, feats + [embedding]) if return_features else logits


@MODELS.register("cnn")
def cnn(num_classes: int, in_channels: int = 3, image_size: int | Sequence[int] = 32,
        channels: Sequence[int] = (32, 64), convs_per_stage: int = 2) -> ConvNet:
    """The default teacher for digits/MNIST: 2 stages of 2 convs (32, 64 channels), about 65k parameters."""
    return ConvNet(num_classes, in_channels, image_size, channels, convs_per_stage)
