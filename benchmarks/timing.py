"""What the benchmarks share: synchronised wall-clock timing of training steps, the device's name, a table.

Imported by the benchmark scripts beside it (``python benchmarks/<name>.py`` puts this folder first on
the import path).
"""
from __future__ import annotations

import platform
import time
from typing import Any, Callable, Iterator

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(step: Callable[[Any], int], batches: Iterator[Any], warmup: int, steps: int,
                device: torch.device) -> tuple[float, int]:
    """Run ``warmup`` untimed then ``steps`` timed calls of ``step(batch)``; return (seconds, items).

    ``step`` returns how many items (images, tokens) its batch held; the clock starts after a device
    synchronisation and stops after one, so queued GPU work is counted. Fetching the next batch is
    inside the timed region: a slow loader is part of what is measured.
    """
    for _ in range(warmup):
        step(next(batches))
    synchronize(device)
    start, items = time.perf_counter(), 0
    for _ in range(steps):
        items += step(next(batches))
    synchronize(device)
    return time.perf_counter() - start, items


def forever(make_epoch: Callable[[int], Iterator[Any]]) -> Iterator[Any]:
    """Batches of epoch 0, 1, 2, ... one after the other (``make_epoch(e)`` gives epoch e's batches)."""
    epoch = 0
    while True:
        yield from make_epoch(epoch)
        epoch += 1


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    threads = torch.get_num_threads()
    return f"CPU {platform.processor() or platform.machine()}, {threads} torch thread(s) (torch {torch.__version__})"


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [headers] + [[f"{c:,.1f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
