"""What every kd.rl script does first: config, seed, threads, device and the run folder."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from kd.common.utils.config import load_config
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError
from kd.common.utils.run_folder import RunFolder
from kd.common.utils.seed import seed_everything


@dataclass
class RunSetup:
    config: dict
    seed: int
    device: torch.device
    run: RunFolder

    @property
    def env(self) -> dict:
        return {"name": self.config["env"]["name"], "kwargs": dict(self.config["env"].get("kwargs") or {})}


def setup_run(args: argparse.Namespace, kind: str) -> RunSetup:
    """Load ``--config`` with its overrides, seed everything, set torch threads, create the run folder."""
    if args.config is None:
        raise ConfigError("--config is required, e.g. --config reinforcement-learning/configs/cartpole.yaml")
    if args.resume:
        raise ConfigError("--resume is not supported for RL runs (they are short); start the run again")
    config = load_config(args.config, args.overrides)
    seed = args.seed if args.seed is not None else int(config.get("seed", 0))
    config["seed"] = seed
    torch.set_num_threads(int(config.get("threads", 1)))
    seed_everything(seed)
    device = resolve_device(args.device)
    run = RunFolder.create(f"{kind}-{config['env']['name']}-s{seed}", args.runs_dir)
    run.save_config(config)
    print(f"run folder: {run.path}")
    return RunSetup(config, seed, device, run)
