"""A feed-forward student (multi-layer perceptron) that flattens the image: the "MLP student" of the
classic CNN -> MLP distillation (Hinton, Vinyals & Dean 2015, the MNIST experiment).

x (N, C, H, W) -> flatten -> Dropout(input_dropout) -> [Linear, ReLU, Dropout(dropout)] x len(hidden)
-> ``classifier`` (Linear). ``feats`` = the output of each hidden layer (after its ReLU and dropout); the
last one is the classifier's input. Hinton et al.'s MNIST teacher (784-1200-1200-10) is the dropout net of
Hinton et al. 2012 / Srivastava et al. 2014: ``dropout=0.5`` on the hidden units, ``input_dropout=0.2``.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from kd.vision.data.transforms import image_hw
from kd.vision.model_registry import MODELS


class MLP(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3, image_size: int | Sequence[int] = 32,
                 hidden: Sequence[int] = (128,), dropout: float = 0.0, input_dropout: float = 0.0):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout)
        height, width = image_hw(image_size, "image_size")
        layers, width = [], in_channels * height * width
        for h in hidden:
            layers.append(nn.Sequential(nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(dropout)))
            width = h
        self.layers = nn.ModuleList(layers)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: Tensor, return_features: bool = False):
        x = self.input_dropout(torch.flatten(x, 1))
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        logits = self.classifier(x)
        if not return_features:
            return logits
        return logits, feats if feats else [x]


@MODELS.register("mlp")
def mlp(num_classes: int, in_channels: int = 3, image_size: int | Sequence[int] = 32, hidden: Sequence[int] = (128,),
        dropout: float = 0.0, input_dropout: float = 0.0) -> MLP:
    """One hidden layer of 128 units by default (on 8x8 digits: 64 -> 128 -> 10, about 9.6k parameters)."""
    return MLP(num_classes, in_channels, image_size, hidden, dropout, input_dropout)
