"""Watching a training loss for divergence that never turns into a NaN.

With Adam at a huge learning rate the loss can climb to 1e11 and stay finite: the NaN check never fires and
the run trains on noise. :class:`LossGrowthWatch` compares every loss it is shown with the first one and, the
first time it is ``factor`` times larger, prints one warning line saying what to do.
"""
from __future__ import annotations

import sys

from tqdm.auto import tqdm

GROWTH_FACTOR = 1e3  # three orders of magnitude above the loss the run started from


class LossGrowthWatch:
    """Reports, once, a loss that grows ``factor``-fold above the first value it saw.

    ``advice`` ends the warning (e.g. ``"lower the learning rate: --resume RUN student.lr=<lower>"``).
    """

    def __init__(self, advice: str, factor: float = GROWTH_FACTOR, enabled: bool = True):
        self.advice, self.factor, self.enabled = advice, factor, enabled
        self.first: tuple[float, str] | None = None
        self.reported = False

    def __call__(self, loss: float, where: str) -> bool:
        """Look at one finite loss value (``where`` says when, e.g. ``"epoch 2, step 40"``); True if it warned."""
        if self.first is None:
            self.first = (loss, where)
            return False
        first, at = self.first
        if self.reported or not self.enabled or not (first > 0 and loss > self.factor * first):
            return False
        self.reported = True
        tqdm.write(f"warning: the loss grew from {first:.4g} ({at}) to {loss:.4g} ({where}), {loss / first:.1e} "
                   f"times, without becoming NaN: training is diverging; {self.advice}", file=sys.stderr)
        return True
