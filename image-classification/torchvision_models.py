"""torchvision's classification models by name, as teachers or students: ``torchvision:<model>``.

```yaml
teacher: {arch: "torchvision:resnet34", kwargs: {weights: DEFAULT}}   # the published ImageNet weights
student: {arch: "torchvision:resnet18"}                                # random initialisation
```

``weights`` is a member of the model's weights enum (``DEFAULT``, ``IMAGENET1K_V1``, ...; null: random
initialisation). The file is downloaded once, hash-checked as torchvision does, into
``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch``), by the pipeline before it makes a run folder
(:func:`fetch_published_weights`); a machine that cannot download it gets one line naming the file and where to
put it. A pretrained teacher is used as published with ``teacher.epochs=0``.
When the data set has another number of classes than the weights were published for (1000 for ImageNet),
the published head is replaced by a new, randomly initialised one, and a line says so.

Each model is wrapped in :class:`TorchvisionClassifier`, which gives it kd.vision's model contract
(kd/vision/model_registry.py), so the feature methods (FitNet, AT, SP, SimKD) find their taps on it:

- ResNet layout (``resnet*``, ``resnext*``, ``wide_resnet*``): ``feats`` = [stem (conv1-bn1-relu, before the
  max-pool), layer1, layer2, layer3, layer4, pooled embedding]; ``classifier`` is the model's ``fc``.
- features layout (``mobilenet_v2``, ``mobilenet_v3_*``, ``efficientnet_*``, ``vgg*``, ``alexnet``): ``feats``
  = [the output of the last block of ``features`` at each spatial resolution, pooled embedding];
  ``classifier`` is the model's ``classifier`` head (for MobileNetV3 a Linear-Hardswish-Dropout-Linear
  Sequential). MobileNetV3 at 224 px thus taps 112, 56, 28, 14 and 7 px maps, as ResNet's stem and layers do.

The input size is free (global average pooling); grey images (1 channel: MNIST, digits) are repeated into the
three channels torchvision's models take.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Callable
from urllib.error import URLError
from urllib.parse import urlparse

import torch
import torchvision.models as tvm
from torch import Tensor, nn

from kd.common.utils import distributed
from kd.common.utils.errors import ConfigError, OfflineError, UnknownNameError
from kd.vision.model_registry import MODELS

PREFIX = "torchvision"
LAYOUTS = {"layers": ("resnet", "resnext", "wide_resnet"),
           "features": ("mobilenet_v2", "mobilenet_v3", "efficientnet", "vgg", "alexnet")}


def layout_of(name: str) -> str | None:
    """``"layers"``, ``"features"`` or None (a torchvision model whose stages kd.vision does not know)."""
    return next((layout for layout, stems in LAYOUTS.items() if name.startswith(stems)), None)


class TorchvisionClassifier(nn.Module):
    """A torchvision model with kd.vision's contract: ``forward(x, return_features=False)``, ``classifier`` (the
    module from the pooled embedding to the logits) and ``pool`` (from the last stage map to the embedding).
    The logits are those of the torchvision model's own ``forward``."""

    def __init__(self, model: nn.Module, layout: str, grey: bool = False):
        super().__init__()
        self.model, self.layout, self.grey = model, layout, grey
        pool = getattr(model, "avgpool", None)
        self.pool = nn.AdaptiveAvgPool2d(1) if pool is None else pool  # mobilenet_v2 pools functionally

    @property
    def classifier(self) -> nn.Module:
        return self.model.fc if self.layout == "layers" else self.model.classifier

    @property
    def feats_start_with_stem(self) -> bool:
        """The ResNet layout's first map is the stem (conv1-bn1-relu); the features layout's is a block's."""
        return self.layout == "layers"

    def stage_outputs(self, x: Tensor) -> list[Tensor]:
        """The stage maps ``(N, C, H, W)`` listed in the module docstring, the last one being what ``pool`` reads."""
        if self.layout == "layers":
            m = self.model
            stem = m.relu(m.bn1(m.conv1(x)))
            maps, x = [stem], m.maxpool(stem)
            for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
                x = layer(x)
                maps.append(x)
            return maps
        maps: list[Tensor] = []
        for block in self.model.features:
            x = block(x)
            if maps and maps[-1].shape[-2:] == x.shape[-2:]:
                maps[-1] = x  # a deeper block at the same resolution
            else:
                maps.append(x)
        return maps

    def forward(self, x: Tensor, return_features: bool = False):
        if self.grey:  # one channel repeated as RGB
            x = x.expand(-1, 3, -1, -1)
        if not return_features:
            return self.model(x)
        maps = self.stage_outputs(x)
        embedding = torch.flatten(self.pool(maps[-1]), 1)
        return self.classifier(embedding), maps + [embedding]


def published_weights(name: str, weights: str) -> tvm.WeightsEnum:
    """The member ``weights`` (e.g. ``DEFAULT``, ``IMAGENET1K_V1`` or ``ResNet34_Weights.IMAGENET1K_V1``) of the
    model's weights enum; an unknown one is a one-line ConfigError listing those that exist."""
    enum = tvm.get_model_weights(name)
    member = str(weights).split(".")[-1]
    if member not in enum.__members__:
        raise ConfigError(f"{PREFIX}:{name} has no weights '{weights}'; choose one of: "
                          f"{', '.join(enum.__members__)} (or null for random initialisation)")
    return enum[member]


def weights_file(weights: tvm.WeightsEnum) -> Path:
    """Where torchvision keeps the downloaded file: ``$TORCH_HOME/hub/checkpoints/<file name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def fetch_weights_file(name: str, weights: tvm.WeightsEnum) -> Path:
    """The weights' file in torchvision's cache, downloaded there (hash-checked, as torchvision does) when missing;
    a failed download is one OfflineError line saying where to put the file instead."""
    path = weights_file(weights)
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        hash_prefix = torch.hub.HASH_REGEX.search(path.name)
        torch.hub.download_url_to_file(weights.url, str(path), hash_prefix and hash_prefix.group(1), progress=True)
    except (URLError, OSError, RuntimeError) as err:  # RuntimeError: a download whose hash does not match
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OfflineError(f"{PREFIX}:{name}: could not download the weights {weights} from {weights.url} ({reason}); "
                           f"copy that file to {path} (TORCH_HOME={path.parents[2]}; set TORCH_HOME to use another "
                           "folder), or set the kwargs' weights=null for random initialisation") from None
    return path


def fetch_published_weights(arch: str, kwargs: dict) -> None:
    """Fetch the published weights a config section (``arch``, ``kwargs``) names, if any, into torchvision's
    cache: run before a run folder exists, so that a machine that cannot download them leaves nothing behind."""
    prefix, colon, name = arch.partition(":")
    if colon and prefix == PREFIX and kwargs.get("weights") is not None:
        MODELS.get(arch)  # an unknown or unsupported name is reported as such
        weights = published_weights(name, kwargs["weights"])
        if int(os.environ.get("LOCAL_RANK", "0")) == 0:  # under torchrun one process per machine downloads
            fetch_weights_file(name, weights)
        distributed.barrier()
        fetch_weights_file(name, weights)  # the others find the file it left


def load_published_state(name: str, weights: tvm.WeightsEnum) -> dict[str, Tensor]:
    """The weights' state dict (:func:`fetch_weights_file`), loaded with ``weights_only=True``."""
    return torch.load(fetch_weights_file(name, weights), map_location="cpu", weights_only=True)


def replace_head(model: nn.Module, layout: str, num_classes: int) -> nn.Linear:
    """Put a new, randomly initialised last ``nn.Linear`` with ``num_classes`` outputs in the model's head."""
    if layout == "layers":
        old = model.fc
        model.fc = nn.Linear(old.in_features, num_classes)
        return old
    head = model.classifier
    index = max(i for i, m in enumerate(head) if isinstance(m, nn.Linear))
    old = head[index]
    head[index] = nn.Linear(old.in_features, num_classes)
    return old


def build_torchvision(name: str, layout: str, num_classes: int, grey: bool = False, weights: str | None = None,
                      **kwargs: Any) -> TorchvisionClassifier:
    """torchvision's ``name`` (``kwargs`` go to its builder), with the published ``weights`` when given, taking
    grey images when ``grey``."""
    if weights is None:
        return TorchvisionClassifier(tvm.get_model(name, num_classes=num_classes, **kwargs), layout, grey)
    published = published_weights(name, weights)
    model = tvm.get_model(name, weights=None, num_classes=len(published.meta["categories"]), **kwargs)
    model.load_state_dict(load_published_state(name, published))
    if num_classes != len(published.meta["categories"]):
        old = replace_head(model, layout, num_classes)
        distributed.rank_zero_print(
            f"{PREFIX}:{name}: the published {published} head has {old.out_features} classes; replaced by a new, "
            f"randomly initialised {num_classes}-class head (the rest keeps the published weights)")
    return TorchvisionClassifier(model, layout, grey)


def resolve(name: str) -> Callable[..., TorchvisionClassifier]:
    """The registry entry of ``torchvision:<name>``: a builder with kd.vision's model arguments."""
    known = tvm.list_models(module=tvm)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownNameError(f"unknown torchvision model '{name}'; {hint}the classification models are listed by "
                               "torchvision.models.list_models(module=torchvision.models)")
    layout = layout_of(name)
    if layout is None:
        families = ", ".join(f"{stem}*" for stems in LAYOUTS.values() for stem in stems)
        raise ConfigError(f"{PREFIX}:{name}: kd.vision does not know where this model's stages are; "
                          f"it reads {families}")

    def build(num_classes: int, in_channels: int = 3, image_size: Any = 224, weights: str | None = None,
              **kwargs: Any) -> TorchvisionClassifier:
        if in_channels not in (1, 3):
            raise ConfigError(f"{PREFIX}:{name} takes RGB or grey images (3 or 1 channels), these have {in_channels}")
        try:
            return build_torchvision(name, layout, num_classes, in_channels == 1, weights, **kwargs)
        except TypeError as err:  # an argument torchvision's builder does not take
            raise ConfigError(f"{PREFIX}:{name}: {err}") from None

    build.__doc__ = f"torchvision's {name} (kd.vision.torchvision_models)."
    return build


MODELS.register_family(PREFIX, resolve)
