"""Seeding for reproducible runs."""
import os
import random

import numpy as np
import torch

from kd.common.utils.config import is_whole_number
from kd.common.utils.errors import ConfigError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device), and PYTHONHASHSEED for the processes this one starts
    (data loader workers under spawn; this process's own string hashing was fixed when it started)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


def check_seed_list(seeds, key: str) -> list[int]:
    """``seeds`` (the config value of ``key``) as a list of distinct whole numbers, one run per seed; a ConfigError
    in one line otherwise (a bare count such as ``3`` included: the seeds are named, ``[0, 1, 2]``)."""
    if is_whole_number(seeds):
        hint = f"; for {seeds} seeds: {key}={list(range(seeds))}" if seeds > 0 else ""
        raise ConfigError(f"{key} is a list of seeds, one run each, not the count {seeds}{hint}")
    if (not isinstance(seeds, list) or not seeds
            or not all(map(is_whole_number, seeds))):
        raise ConfigError(f"{key} is a non-empty list of whole numbers, e.g. [0, 1, 2]; got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{key}={seeds} names a seed twice: each seed is one run")
    return list(seeds)
