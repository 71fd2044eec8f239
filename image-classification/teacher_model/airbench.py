"""A CIFAR net that trains to ~94 % in ten epochs, after airbench94 (Jordan 2024, "94% on CIFAR-10 in 3.29
Seconds on a Single GPU").

    x -> whitening conv (2x2, 3 -> 24 filters, learned bias) -> GELU
      -> 3 conv groups [3x3 conv -> 2x2 max-pool -> BN -> GELU -> 3x3 conv -> BN -> GELU]  (64, 256, 256 channels)
      -> 3x3 max-pool (``pool``) -> flatten -> ``classifier`` (Linear 256 -> C, no bias, logits x 1/9)

What makes it train fast, all inside the model so that the ordinary training loop (SGD) applies:

- **Whitening**: the first training batch sets the whitening filters, then frozen: the eigenvectors of the
  covariance of its 2x2x3 patches, each divided by sqrt(eigenvalue + 5e-4), and their negatives (so GELU sees
  both signs). The first layer then hands the network decorrelated, unit-variance inputs. ``fit_to_data`` sets
  them before training from other images instead (``teacher.data_init: training_set``: every plain training
  image; airbench fits them on 5,000).
- **Identity start**: every 3x3 convolution starts as the identity on its first ``in_channels`` filters
  (``nn.init.dirac_``), an implicit residual connection.
- **BatchNorm**: scale frozen at 1, momentum 0.4 (airbench's 0.6 in the other convention), eps 1e-12, and
  its bias is ``8 * b`` with ``b`` the learned parameter: the bias moves at 64x the learning rate while its
  weight decay keeps the plain rate, airbench's ``bias_scaler = 64`` without a second parameter group.
- **Test-time augmentation** (``tta``, evaluation mode only): 1 averages the logits of the image and its
  mirror; 2 (airbench's level 2) also averages two 1-pixel translations (reflect-padded), weighted 1/2.

The training recipe (Nesterov SGD momentum 0.85, lr 1.5 on the mean loss, label smoothing 0.2, batch 1024,
a triangular per-step schedule, 15 epochs, crops after 2 pixels of zero padding (airbench pads by reflection:
``data.crop_padding_mode=reflect``), airbench's lookahead EMA every 5 steps with base 0.95 (``teacher.lookahead``,
common/engine/lookahead.py) and its alternating flip (``data.flip: alternate``, data/device_loader.py)) is
``configs/cifar10_airbench_resnet8.yaml``'s teacher section.
Unlike airbench, no progressive freezing of the whitening bias (here the whitening filters are frozen and their
bias trains throughout; in airbench's ablations the freezing saves time, not accuracy); ``clean_airbench`` (airbench without the lookahead and the freezing) reaches 93.97 % on
a GPU. Here, on the JPEG copy of CIFAR-10 in bf16 on a CPU, it reaches 90.89 ± 0.08 % in 15 epochs over 2 seeds
(seed 0: 90.09 % without the lookahead EMA and the alternating flip), 91.15 % with reflect-padded crops (seed 0)
and 91.25 % in 20 epochs (seed 0); neither the whitening fitted on every plain training image nor fp32 moves it, and
with everything that can be undone at once 91.35 % (RESEARCH.md): the JPEG copy is what remains.

``feats`` (``return_features=True``) = the output of each conv group (after its last GELU) + the pooled
embedding; the classifier reads that embedding through ``pool``, like every model here.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.vision.model_registry import MODELS

BIAS_SCALE = 8.0  # BatchNorm bias = 8 * parameter: 8 x 8 = 64x the learning rate, weight decay unscaled


class ScaledLinear(nn.Linear):
    """``nn.Linear`` whose output is multiplied by ``scale`` (airbench's 1/9 on the logits)."""

    def __init__(self, in_features: int, out_features: int, scale: float):
        super().__init__(in_features, out_features, bias=False)
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) * self.scale


class FrozenScaleBatchNorm(nn.BatchNorm2d):
    """BatchNorm with its scale fixed at 1 and its shift = BIAS_SCALE x a learned parameter."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-12, momentum=0.4)
        self.weight.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, BIAS_SCALE * self.bias,
                            self.training, self.momentum, self.eps)


def identity_conv(c_in: int, c_out: int) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:min(c_in, c_out)])
    return conv


class ConvGroup(nn.Sequential):
    def __init__(self, c_in: int, c_out: int):
        super().__init__(identity_conv(c_in, c_out), nn.MaxPool2d(2), FrozenScaleBatchNorm(c_out), nn.GELU(),
                         identity_conv(c_out, c_out), FrozenScaleBatchNorm(c_out), nn.GELU())


class Whitening(nn.Conv2d):
    """A 2x2 conv whose 2 x (3 * 4) filters are set once to the whitening transform of training patches (and its
    negative): from the first training batch, unless :meth:`fit` was called before; only the bias is learned."""

    def __init__(self, in_channels: int, kernel: int = 2, eps: float = 5e-4):
        super().__init__(in_channels, 2 * in_channels * kernel * kernel, kernel, bias=True)
        self.weight.requires_grad_(False)
        nn.init.zeros_(self.bias)
        self.eps = eps
        self.register_buffer("initialised", torch.tensor(False))

    @torch.no_grad()
    def fit(self, batches: Iterable[Tensor]) -> None:
        """Set the filters from the patches of every image in ``batches``: with ``C`` their (uncentred) covariance
        and ``C = V diag(lambda) V^T``, the filters are the rows of ``diag(lambda + eps)^(-1/2) V^T``."""
        c, (h, w) = self.in_channels, self.kernel_size
        second_moment, count = torch.zeros(c * h * w, c * h * w, device=self.weight.device), 0
        for images in batches:
            patches = images.float().unfold(2, h, 1).unfold(3, w, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, c * h * w)
            second_moment += patches.t() @ patches
            count += len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(second_moment / count)
        filters = (eigenvectors.t() / torch.sqrt(eigenvalues.clamp(min=0) + self.eps)[:, None]).reshape(-1, c, h, w)
        self.weight.copy_(torch.cat([filters, -filters]).to(self.weight.dtype))
        self.initialised.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        if self.training and not self.initialised:
            self.fit([x])
        return super().forward(x)


class AirbenchNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3, widths: Sequence[int] = (64, 256, 256),
                 tta: int = 0, logit_scale: float = 1 / 9):
        super().__init__()
        self.whiten = Whitening(in_channels)
        self.groups = nn.ModuleList()
        c_in = self.whiten.out_channels
        for width in widths:
            self.groups.append(ConvGroup(c_in, width))
            c_in = width
        self.pool = nn.MaxPool2d(3)
        self.classifier = ScaledLinear(c_in, num_classes, logit_scale)
        self.tta = tta

    def fit_to_data(self, batches: Iterable[Tensor]) -> None:
        """Data-dependent initialisation before training: the whitening filters from the patches of every image in
        ``batches`` (airbench: 5,000 plain training images) rather than from the first augmented training batch."""
        self.whiten.fit(batches)

    def features(self, x: Tensor) -> list[Tensor]:
        x = F.gelu(self.whiten(x))
        feats = []
        for group in self.groups:
            x = group(x)
            feats.append(x)
        return feats

    def logits(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)[-1]), 1))

    def forward(self, x: Tensor, return_features: bool = False):
        if return_features:
            feats = self.features(x)
            embedding = torch.flatten(self.pool(feats[-1]), 1)
            return self.classifier(embedding), feats + [embedding]
        if self.training or not self.tta:
            return self.logits(x)
        return self.augmented_logits(x)

    def augmented_logits(self, x: Tensor) -> Tensor:
        """Test-time augmentation: mirror average (level 1), plus two 1-pixel translations (level 2)."""
        def mirrored(images: Tensor) -> Tensor:
            return 0.5 * (self.logits(images) + self.logits(images.flip(-1)))

        plain = mirrored(x)
        if self.tta < 2:
            return plain
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        h, w = x.shape[-2:]
        shifted = 0.5 * (mirrored(padded[..., :h, :w]) + mirrored(padded[..., 2:, 2:]))
        return 0.5 * (plain + shifted)


@MODELS.register("airbench")
def airbench(num_classes: int, in_channels: int = 3, image_size: int = 32, widths: Sequence[int] = (64, 256, 256),
             tta: int = 0) -> AirbenchNet:
    """The airbench94 architecture (about 1.97M parameters for 10 classes); ``tta`` 0, 1 or 2 at evaluation."""
    return AirbenchNet(num_classes, in_channels, widths, tta)
