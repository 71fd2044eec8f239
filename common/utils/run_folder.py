"""The run folder: everything one experiment leaves behind.

Its name follows one rule in every domain (:func:`run_name`, then the time ``create`` appends)::

    <domain>-<data>-<script>[-s<seed>]-<YYYYmmdd-HHMMSS>
    vision-cifar10-distill-s0-20261130-151000   nlp-sst2-train_teacher-s1-...   rl-cartpole-distill-s2-...

``domain`` is ``vision``, ``nlp`` or ``rl``; ``data`` what the run learns from (vision: ``data.name``; NLP: the
preset's ``name``, its data set or ``lm``; RL: the environment; a report over several runs leaves it out);
``script`` the script that made it (``train_teacher``, ``distill``, ...); ``-s<seed>`` the seed, when the run
trains one. So ``ls runs/`` sorts by domain, then data, then script, then seed, and ``runs/nlp-sst2-*`` are all
the SST-2 runs. ``create`` adds ``-1``, ``-2`` ... to a name already taken in the same second.

```
runs/<name>/
  config.yaml        the resolved config (preset + overrides)
  metrics.json       per-epoch history and the final metrics
  checkpoints/       last.pt (training state: what --resume continues from) and model.pt (the weights a later
                     stage or a user loads; kd.common.utils.checkpoint names both)
  plots/*.png        learning curves and comparisons
  tb/                TensorBoard events
  summary.md         the final table
```

Under torch.distributed every rank opens the same folder (``create`` picks the name on rank 0 and
shares it) and only rank 0 writes to it (config, metrics, TensorBoard, summary), so a script needs no
rank checks around its run folder.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from kd.common.utils import distributed
from kd.common.utils.config import save_yaml

DEFAULT_RUNS_ROOT = Path("runs")
DOMAINS = ("vision", "nlp", "rl")


def run_name(domain: str, data: str | None, script: str, seed: int | None = None) -> str:
    """``<domain>-<data>-<script>[-s<seed>]``, the name of a new run folder in every domain (``RunFolder.create``
    appends the time; the module docstring has the rule). ``data`` None leaves it out (a report over several data
    sets); a run of several seeds passes none. A character other than a letter, digit, ``_``, ``.`` or ``-`` in
    ``data`` becomes ``-`` (``ALE/Pong-v5`` -> ``ALE-Pong-v5``)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; one of {', '.join(DOMAINS)}")
    label = re.sub(r"[^\w.-]+", "-", str(data)).strip("-") if data is not None else ""
    return "-".join(part for part in (domain, label, script, "" if seed is None else f"s{seed}") if part)


class RunFolder:
    """A folder that collects a run's config, metrics history, TensorBoard events and summary."""

    def __init__(self, path: str | Path, tensorboard: bool = True):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)
        self.plots.mkdir(exist_ok=True)
        self.history: list[dict[str, Any]] = []
        self.final: dict[str, Any] = {}
        self.writable = distributed.is_main()  # other ranks of a torch.distributed job only read
        self._tensorboard = tensorboard and self.writable
        self._writer = None
        self._purge_step = None  # set by resume_logging_after
        if self.metrics_file.is_file():  # resuming: keep what the interrupted run logged
            saved = json.loads(self.metrics_file.read_text())
            self.history = saved.get("history", [])
            self.final = saved.get("final", {})

    @classmethod
    def create(cls, name: str, root: str | Path = DEFAULT_RUNS_ROOT, **kwargs) -> "RunFolder":
        """A new folder ``root/<name>-<YYYYmmdd-HHMMSS>`` (a suffix is added if it exists); the same on every rank.
        The folder is made here, by a ``mkdir`` that fails if it exists: two runs started in the same second (two
        processes sharing a table's rows) each get their own."""
        path = None
        if distributed.is_main():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            Path(root).mkdir(parents=True, exist_ok=True)
            for suffix in itertools.count():
                path = Path(root) / (f"{name}-{stamp}" + (f"-{suffix}" if suffix else ""))
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    continue
        return cls(distributed.broadcast_object(str(path) if path is not None else None), **kwargs)

    checkpoints = property(lambda self: self.path / "checkpoints")
    plots = property(lambda self: self.path / "plots")
    metrics_file = property(lambda self: self.path / "metrics.json")

    def save_config(self, config: dict) -> None:
        if self.writable:
            save_yaml(config, self.path / "config.yaml")

    @property
    def writer(self):
        if self._writer is None and self._tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.path / "tb"), purge_step=self._purge_step)
        return self._writer

    def resume_logging_after(self, step: int) -> None:
        """A resumed run logs on from ``step``: TensorBoard drops the events the interrupted run wrote at later steps
        (the part of an epoch past its last checkpoint, which the resumed run trains again), so no step shows
        twice. The steps are those of the ``train/`` scalars (optimiser steps); the ``epoch/`` scalars' epoch numbers
        stay below them."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._purge_step = step + 1

    def log_scalars(self, step: int, scalars: dict[str, float], prefix: str = "") -> None:
        """Send scalars to TensorBoard (not to metrics.json; use :meth:`log_epoch` for the history)."""
        if self.writer is not None:
            for key, value in scalars.items():
                self.writer.add_scalar(f"{prefix}{key}", value, step)

    def log_epoch(self, record: dict[str, Any]) -> None:
        """Append one epoch's record (``epoch`` plus metrics) to the history and rewrite metrics.json."""
        self.history = [r for r in self.history if r.get("epoch") != record.get("epoch")] + [record]
        step = record.get("epoch", len(self.history))
        self.log_scalars(step, {k: v for k, v in record.items() if _is_number(v) and k != "epoch"}, "epoch/")
        self._write_metrics()

    def log_final(self, metrics: dict[str, Any]) -> None:
        self.final.update(metrics)
        self._write_metrics()

    def _write_metrics(self) -> None:
        if not self.writable:
            return
        tmp = self.metrics_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"history": self.history, "final": self.final}, indent=2, default=float))
        tmp.replace(self.metrics_file)

    def write_summary(self, markdown: str) -> Path:
        path = self.path / "summary.md"
        if self.writable:
            path.write_text(markdown)
        return path

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
