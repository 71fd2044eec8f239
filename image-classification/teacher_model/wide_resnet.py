"""Wide Residual Networks (Zagoruyko & Komodakis 2016, "Wide Residual Networks"), RepDistiller's layout:
WRN-16-2 (0.70M parameters for 100 classes) and WRN-40-2 (2.26M).

Pre-activation blocks: out = conv3x3(ReLU(BN(conv3x3(ReLU(BN(x)))))) + shortcut(x);
widths 16, 16k, 32k, 64k; ``n = (depth - 4) / 6`` blocks per group; a final BN-ReLU before the pool.
``feats`` = [stem conv output, group 1 output, group 2 output, ReLU(BN(group 3 output)), pooled embedding]
(RepDistiller's choice: the first groups' outputs are pre-activation residual sums).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.common.utils.errors import ConfigError
from kd.vision.model_registry import MODELS


class PreActBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.dropout = dropout
        self.shortcut = None if (c_in == c_out and stride == 1) else nn.Conv2d(c_in, c_out, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pre = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(pre)))
        out = F.dropout(out, p=self.dropout, training=self.training)
        out = self.conv2(out)
        # As in the reference: when the shape changes, the shortcut reads the pre-activated input.
        return out + (x if self.shortcut is None else self.shortcut(pre))


class WideResNet(nn.Module):
    feats_start_with_stem = True  # feats[0] is the stem conv's output (kd.vision.model_registry)

    def __init__(self, depth: int, widen_factor: int, num_classes: int, in_channels: int = 3,
                 dropout: float = 0.0):
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ConfigError(f"WRN depth must be 6n+4, got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        groups = []
        for i in range(3):
            blocks = [PreActBlock(widths[i] if j == 0 else widths[i + 1], widths[i + 1],
                                  stride=(1 if i == 0 else 2) if j == 0 else 1, dropout=dropout) for j in range(n)]
            groups.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(groups)
        self.bn = nn.BatchNorm2d(widths[3])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor, return_features: bool = False):
        x = self.stem(x)
        feats = [x]
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        x = F.relu(self.bn(x))
        feats[-1] = x
        embedding = torch.flatten(self.pool(x), 1)
        logits = self.classifier(embedding)
        return (logits, feats + [embedding]) if return_features else logits


@MODELS.register("wrn")
def wrn(num_classes: int, in_channels: int = 3, image_size: int = 32, depth: int = 16, widen_factor: int = 2,
        dropout: float = 0.0) -> WideResNet:
    """WRN-depth-widen_factor with any depth = 6n+4."""
    return WideResNet(depth, widen_factor, num_classes, in_channels, dropout)


@MODELS.register("wrn_16_2")
def wrn_16_2(num_classes: int, in_channels: int = 3, image_size: int = 32) -> WideResNet:
    return WideResNet(16, 2, num_classes, in_channels)


@MODELS.register("wrn_40_2")
def wrn_40_2(num_classes: int, in_channels: int = 3, image_size: int = 32) -> WideResNet:
    return WideResNet(40, 2, num_classes, in_channels)
