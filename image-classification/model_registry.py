"""The vision model registry: every teacher and student architecture, selected by name in configs.

```python
from kd.vision.model_registry import build_model
model = build_model("resnet32x4", num_classes=100)              # CIFAR-sized input by default
mlp = build_model("mlp", num_classes=10, in_channels=1, image_size=8, hidden=(128,))
teacher = build_model("torchvision:resnet34", num_classes=1000, weights="DEFAULT")  # kd/vision/torchvision_models.py
```

The contract every model follows (see image-classification/README.md):

- ``model(x)`` -> logits ``(N, num_classes)``;
- ``model(x, return_features=True)`` -> ``(logits, feats)``: ``feats`` lists one tensor per stage
  (for convnets the stage output ``(N, C, H, W)`` after the stage's last ReLU) and ``feats[-1]`` is the
  pooled embedding ``(N, D)``, exactly the input of the classifier;
- ``model.classifier`` maps the pooled embedding to the logits: the final ``nn.Linear`` of this repo's models,
  torchvision's ``fc`` or ``classifier`` head for ``torchvision:<model>``;
- ``model.feats_start_with_stem`` (optional, False if absent): True where ``feats[0]`` is the stem's output
  (ResNet, WRN, torchvision's ResNet layout) rather than a stage's; methods that skip the stem ask
  :func:`kd.vision.methods.feature_taps.stem_maps`.

Any registered name can be a teacher or a student; the split into ``teacher_model/`` and
``student_model/`` only says what each architecture is usually used for.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from kd.common.utils.registry import Registry, build_checked

MODELS: Registry[nn.Module] = Registry("model")


def build_model(name: str, num_classes: int, in_channels: int = 3, image_size: int | Sequence[int] = 32,
                **kwargs) -> nn.Module:
    """Build the architecture registered as ``name`` (unknown names raise :class:`UnknownNameError`,
    arguments it does not take :class:`ConfigError`)."""
    return build_checked(MODELS, name, num_classes=num_classes, in_channels=in_channels, image_size=image_size,
                         **kwargs)


INITIALISATION_ARGUMENTS = ("weights",)
"""Model arguments that only say how to initialise the weights (torchvision's published ``weights``)."""


def rebuild_model(name: str, **arch_kwargs) -> nn.Module:
    """The architecture a checkpoint records, to load its saved weights into: the arguments that only initialise
    the weights are left out, so rebuilding a model made from published weights downloads nothing."""
    return build_model(name, **{k: v for k, v in arch_kwargs.items() if k not in INITIALISATION_ARGUMENTS})


def image_size_arg(image_shape: Sequence[int]) -> int | list[int]:
    """The ``image_size`` argument of a model for images of ``image_shape`` (C, H, W): H when square, else [H, W]."""
    height, width = image_shape[-2:]
    return height if height == width else [height, width]


# Importing the two packages registers every architecture (they import MODELS from this module).
from kd.vision import student_model, teacher_model  # noqa: E402,F401
from kd.vision import torchvision_models  # noqa: E402,F401  (the torchvision:<model> family)
