"""Observation normalisation kept inside the policy, so a checkpoint carries its statistics."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class ObservationNormalizer(nn.Module):
    """Running mean and variance of observations (Chan et al.'s parallel update), stored as buffers.

    y = clip((x - mean) / sqrt(var + eps), -clip, clip)

    The statistics live in the model's ``state_dict``: a reloaded policy sees its inputs scaled exactly as
    during training (gymnasium's NormalizeObservation wrapper would have to be saved separately). A
    student distilled from a teacher copies the teacher's statistics. ``enabled=False`` is the identity.
    """

    def __init__(self, shape: tuple[int, ...], enabled: bool = True, clip: float = 10.0, eps: float = 1e-8):
        super().__init__()
        self.enabled = enabled
        self.clip = clip
        self.eps = eps
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    def update(self, batch: Tensor) -> None:
        """Merge a batch (leading dims flattened) into the running statistics."""
        if not self.enabled:
            return
        x = batch.reshape(-1, *self.mean.shape).to(torch.float64)
        n = x.shape[0]
        batch_mean, batch_var = x.mean(0), x.var(0, unbiased=False)
        delta = batch_mean - self.mean
        total = self.count + n
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * self.count * n / total
        self.mean += delta * n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, obs: Tensor) -> Tensor:
        if not self.enabled:
            return obs.float()
        y = (obs.to(torch.float64) - self.mean) / torch.sqrt(self.var + self.eps)
        return y.clamp(-self.clip, self.clip).float()
