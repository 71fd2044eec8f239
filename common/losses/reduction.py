"""The one reduction every loss shares: a mean over the rows a mask keeps (padding tokens, finished episodes)."""
from __future__ import annotations

from torch import Tensor


def masked_mean(values: Tensor, mask: Tensor | None = None) -> Tensor:
    """mean_i values_i over the positions where ``mask`` is true (all positions when ``mask`` is None).

    ``values`` and ``mask`` have the same number of elements (any shapes); an all-false mask gives 0.
    """
    if mask is None:
        return values.mean()
    values = values.reshape(-1)
    mask = mask.reshape(-1).to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)
