"""What every kd.rl script does first: config, seed, threads, device and the run folder (new, or resumed)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from kd.common.utils.checkpoint import safe_load
from kd.common.utils.config import load_config, load_run_config
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError
from kd.common.utils.run_folder import RunFolder
from kd.common.utils.seed import seed_everything
from kd.rl.resume import RESUME_FILE, LoopCheckpoint


@dataclass
class RunSetup:
    config: dict
    seed: int
    device: torch.device
    run: RunFolder
    checkpoint: LoopCheckpoint  # the training loop saves its state here; holds the state to resume from

    @property
    def env(self) -> dict:
        return {"name": self.config["env"]["name"], "kwargs": dict(self.config["env"].get("kwargs") or {})}


def setup_run(args: argparse.Namespace, kind: str, **recorded) -> RunSetup:
    """Load ``--config`` with its overrides (or, with ``--resume RUN_DIR``, that run's saved config with the
    overrides and its ``checkpoints/resume.pt``), seed everything, set torch threads, open the run folder.

    ``recorded`` values (e.g. the teacher checkpoint of a distillation) are saved in the config, so a
    resumed run finds them again.
    """
    if args.resume:
        config, run = _resumed_config(args)
    else:
        if args.config is None:
            raise ConfigError("--config is required, e.g. --config reinforcement-learning/configs/cartpole.yaml")
        config = {**load_config(args.config, args.overrides), **recorded}
        config["seed"] = args.seed if args.seed is not None else int(config.get("seed", 0))
        run = RunFolder.create(f"{kind}-{config['env']['name']}-s{config['seed']}", args.runs_dir)
    seed = int(config["seed"])
    torch.set_num_threads(int(config.get("threads", 1)))
    seed_everything(seed)
    device = resolve_device(args.device)
    run.save_config(config)
    state_file = run.checkpoints / RESUME_FILE
    state = safe_load(state_file) if args.resume and state_file.is_file() else None
    if args.resume:
        print(f"resuming {run.path} after iteration {state['iteration']}" if state is not None
              else f"{state_file} not found: {run.path} starts from its first iteration")
    print(f"run folder: {run.path}")
    return RunSetup(config, seed, device, run, LoopCheckpoint(state_file, state))


def _resumed_config(args: argparse.Namespace) -> tuple[dict, RunFolder]:
    config = load_run_config(args.resume, args.overrides)
    if args.seed is not None and args.seed != config["seed"]:
        raise ConfigError(f"--seed {args.seed} differs from the resumed run's seed {config['seed']}; drop --seed")
    return config, RunFolder(args.resume)
