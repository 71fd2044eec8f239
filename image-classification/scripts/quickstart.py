"""The `make demo` job: CNN teacher -> MLP student with soft-target KL on scikit-learn's 8x8 digits.

    python -m kd.vision.scripts.quickstart            # offline, well under 2 minutes on 2 CPU cores

Trains the CNN teacher, distils an MLP student (Hinton KD, T=4, alpha=0.9), trains the same MLP alone,
prints the table (accuracy, agreement, params, FLOPs, latency) and writes summary.md and plots into the
run folder. It is scripts/compare.py with the configs/digits_cnn_mlp.yaml preset; any override works,
e.g. ``python -m kd.vision.scripts.quickstart distill.mode=offline``.
"""
from __future__ import annotations

from kd.common.utils.cli import main_entry
from kd.vision.scripts import compare

DEFAULT_PRESET = "digits_cnn_mlp"  # without --config


def main(argv: list[str] | None = None) -> dict:
    return compare.main(argv, script="quickstart", default_preset=DEFAULT_PRESET)


if __name__ == "__main__":
    main_entry(main)
