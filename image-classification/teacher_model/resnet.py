"""CIFAR ResNets (He et al. 2016, "Deep Residual Learning for Image Recognition", section 4.2), laid out
as in RepDistiller (Tian et al. 2020, "Contrastive Representation Distillation") so that parameter
counts match its tables: resnet8/20/32/56/110 (16-16-32-64 channels) and resnet8x4/resnet32x4
(32-64-128-256 channels; 1.23M / 7.43M parameters for 100 classes).

stem: 3x3 conv, BN, ReLU -> stages (stride 1, 2, 2, ...), each ``n`` residual blocks ->
global average pool -> ``classifier``. Basic blocks: ``n = (depth - 2) / (2 * stages)``; bottleneck
blocks (expansion 4): ``n = (depth - 2) / (3 * stages)``.
``feats`` = [stem output, each stage's output (after the block's final ReLU), pooled embedding].

``resnet`` (registered name) is the configurable builder: any depth, any list of widths (stem width
then one per stage), basic or bottleneck blocks.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from kd.common.utils.errors import ConfigError
from kd.vision.model_registry import MODELS


class BasicBlock(nn.Module):
    """out = ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x))."""

    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(c_in, planes * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """out = ReLU(BN(conv1x1(ReLU(BN(conv3x3(ReLU(BN(conv1x1(x)))))))) + shortcut(x)), 4x expansion."""

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(c_in, planes * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


BLOCKS = {"basic": (BasicBlock, 2), "bottleneck": (Bottleneck, 3)}  # block, convs per block


class ResNet(nn.Module):
    """CIFAR-style ResNet: ``widths[0]`` is the stem width, ``widths[1:]`` the stage widths."""

    feats_start_with_stem = True  # feats[0] is the stem's output (kd.vision.model_registry)

    def __init__(self, depth: int, widths: Sequence[int], num_classes: int, in_channels: int = 3,
                 block: str = "basic"):
        super().__init__()
        if block not in BLOCKS:
            raise ConfigError(f"unknown ResNet block '{block}'; choose one of: {', '.join(BLOCKS)}")
        block_cls, convs = BLOCKS[block]
        n_stages = len(widths) - 1
        if n_stages < 1 or (depth - 2) % (convs * n_stages) != 0:
            raise ConfigError(f"ResNet depth {depth} with {n_stages} stages of {block} blocks needs "
                              f"depth = {convs} * {n_stages} * n + 2")
        blocks_per_stage = (depth - 2) // (convs * n_stages)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, c_in = [], widths[0]
        for i, planes in enumerate(widths[1:]):
            layers = []
            for j in range(blocks_per_stage):
                layers.append(block_cls(c_in, planes, stride=2 if (i > 0 and j == 0) else 1))
                c_in = planes * block_cls.expansion
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, return_features: bool = False):
        x = self.stem(x)
        feats = [x]
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        embedding = torch.flatten(self.pool(x), 1)
        logits = self.classifier(embedding)
        return (logits, feats + [embedding]) if return_features else logits


@MODELS.register("resnet")
def resnet(num_classes: int, in_channels: int = 3, image_size: int = 32, depth: int = 20,
           widths: Sequence[int] = (16, 16, 32, 64), block: str = "basic") -> ResNet:
    """Configurable depth and widths, e.g. ``depth=14 widths=[8,16,32]`` (2 stages) or bottleneck blocks."""
    return ResNet(depth, widths, num_classes, in_channels, block)


CIFAR_RESNETS = {
    "resnet8": (8, (16, 16, 32, 64)),
    "resnet14": (14, (16, 16, 32, 64)),
    "resnet20": (20, (16, 16, 32, 64)),
    "resnet32": (32, (16, 16, 32, 64)),
    "resnet44": (44, (16, 16, 32, 64)),
    "resnet56": (56, (16, 16, 32, 64)),
    "resnet110": (110, (16, 16, 32, 64)),
    "resnet8x4": (8, (32, 64, 128, 256)),
    "resnet32x4": (32, (32, 64, 128, 256)),
}


def _register_cifar_resnet(name: str, depth: int, widths: tuple[int, ...]) -> None:
    def build(num_classes: int, in_channels: int = 3, image_size: int = 32) -> ResNet:
        return ResNet(depth, widths, num_classes, in_channels)

    build.__doc__ = f"RepDistiller's {name}: depth {depth}, widths {widths}."
    MODELS.register(name)(build)


for _name, (_depth, _widths) in CIFAR_RESNETS.items():
    _register_cifar_resnet(_name, _depth, _widths)
