"""What every kd.rl script does first: config, seed, threads, device, the checks of its inputs, then the run
folder (new, or resumed).

A config is ``configs/default.yaml`` (every key, with CleanRL's PPO settings) updated by ``--config`` (a preset:
tuned hyper-parameters of one environment; its name in configs/, e.g. ``cartpole``, or a path) and the
``key=value`` overrides, so ``env.name=Acrobot-v1`` alone is a run. The environment is built once and the
script's own inputs (a teacher checkpoint...) are loaded before the run folder is made: a mistake in any of them
leaves nothing behind, and a refused ``--resume`` leaves its config.yaml as it was.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from kd.common.utils.checkpoint import LAST_CHECKPOINT, require_training_state, safe_load
from kd.common.utils.cli import exit_if_dry_run
from kd.common.utils.device import resolve_device, set_threads
from kd.common.utils.errors import CheckpointMismatchError, ConfigError
from kd.common.utils.run_folder import RunFolder, run_name
from kd.common.utils.script_config import load_script_config
from kd.common.utils.seed import seed_everything
from kd.rl.environments import make_env
from kd.rl.resume import LoopCheckpoint

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "default.yaml"
# In a run's checkpoints/, beside last.pt (the loop state) and model.pt (the policy a later stage loads):
BEST_CHECKPOINT = "best.pt"  # train_teacher: the policy of the best periodic evaluation so far
LAST_UPDATE_CHECKPOINT = "last_update.pt"  # train_teacher: the policy after the last update
# What --resume cannot change: the run's networks, memories and teacher were made with these, and its position is
# saved as a count of updates (iterations), each of num_envs x num_steps (steps_per_iteration) environment steps (the
# student's training settings, student.lr ..., may change, as the teacher's teacher.ppo.lr: the advice after a NaN
# loss lowers them).
FIXED_ON_RESUME = ("seed", "env", "teacher.algo", "teacher.network", "teacher.arch", "teacher.init",
                   "teacher.checkpoint", "student.network", "student.arch", "method.name", "teacher.ppo.num_envs",
                   "teacher.ppo.num_steps", "distill.num_envs", "distill.steps_per_iteration")
# Mappings whose keys are free (a preset or an override may add one without ``+``): gym.make's and the wrappers'
# settings, and the policy networks' constructor arguments (checked by the constructor before the run folder exists).
OPEN_SECTIONS = ("env.kwargs", "teacher.arch", "student.arch")
# Keys of earlier versions, refused with their new names (the same names as in vision and NLP): each distillation
# method has its own section methods.<name> (kd.rl.distillation.methods), a learning rate is `lr`, the final
# evaluation's section is `evaluate` (as NLP's; its keys episodes, seed stay), and the student's training settings are
# in `student` beside its network (as vision's and NLP's; `distill` says how states are collected). A key is refused
# with the first entry it matches (itself, or a section above it), so a key's own entry comes before its section's.
_TEMPERATURE = ("methods.<name>.temperature (e.g. methods.policy_distillation.temperature=0.01): each method has its "
                "own section methods.<name> in reinforcement-learning/configs/default.yaml")
_IN_STUDENT = "(the student's training settings are in student:, as in vision and NLP)"
RENAMED = {"distill.method": "method.name (e.g. method.name=kickstarting)",
           "distill.loss": "methods.<name>.loss (e.g. methods.policy_distillation.loss=kl): each method has its own "
                           "section methods.<name> in reinforcement-learning/configs/default.yaml",
           "distill.temperature": _TEMPERATURE,
           "distill.tau": _TEMPERATURE,
           **{f"distill.kickstart.{key}": f"methods.kickstarting.{key}"
              for key in ("total_steps", "weight_start", "weight_end", "anneal_fraction")},
           "distill.kickstart.learning_rate": "methods.kickstarting.lr",
           "distill.kickstart": "methods.kickstarting.<argument> (e.g. methods.kickstarting.total_steps=50000)",
           "teacher_checkpoint": "teacher.checkpoint",
           **{f"{section}.learning_rate": f"{section}.lr"
              for section in ("teacher.ppo", "teacher.dqn", "methods.kickstarting")},
           "distill.learning_rate": f"student.lr {_IN_STUDENT}",
           **{f"distill.{key}": f"student.{key} {_IN_STUDENT}"
              for key in ("lr", "batch_size", "updates_per_iteration")},
           "eval.episodes": "evaluate.episodes",
           "eval.seed": "evaluate.seed",
           "eval": "evaluate (the final evaluation's section: evaluate.episodes, evaluate.seed)"}


# Periodic evaluations play episodes seeded PERIODIC_SEEDS * seed + i (i < PERIODIC_SEEDS), apart from the final
# evaluation's evaluate.seed + i, which chooses no checkpoint (best.pt is chosen on the periodic ones). Training
# environments start at seed + i (seed + update + i on --resume): with seed 0 (or a run resumed past update 999) the
# first training episode of each environment starts where one periodic episode does, one episode of thousands, not
# changed so that the published runs' best.pt choices stay as they are.
PERIODIC_SEEDS = 1000


def check_periodic_seeds_apart(seed: int, evaluate: dict) -> None:
    """A ConfigError when run seed ``seed``'s periodic episodes could be the final evaluation's (``evaluate``)."""
    start, final = PERIODIC_SEEDS * seed, int(evaluate["seed"])
    if start < final + int(evaluate["episodes"]) and final < start + PERIODIC_SEEDS:
        raise ConfigError(f"seed={seed} seeds its periodic evaluations {start} + i, which meet the final evaluation's "
                          f"episodes (evaluate.seed={final} + i): best.pt would be chosen on them; choose another "
                          f"seed or evaluate.seed")


@dataclass
class RunSetup:
    config: dict
    seed: int
    device: torch.device
    run: RunFolder
    checkpoint: LoopCheckpoint  # the training loop saves its state here; holds the state to resume from
    prepared: Any = None  # what the script's ``prepare(config, device, state)`` returned

    @property
    def env(self) -> dict:
        return {"name": self.config["env"]["name"], "kwargs": dict(self.config["env"].get("kwargs") or {})}

    @property
    def periodic_seed(self) -> int:
        """The seed of the periodic evaluations' first episode (:data:`PERIODIC_SEEDS`)."""
        return PERIODIC_SEEDS * self.seed


def setup_run(args: argparse.Namespace, script: str,
              prepare: Callable[[dict, torch.device, dict | None], Any] | None = None) -> RunSetup:
    """Load the config (default.yaml < ``--config`` < overrides; or, with ``--resume RUN_DIR``, that run's saved
    config with the overrides and its ``checkpoints/last.pt``), seed everything, set torch threads, build the
    environment once, run ``prepare(config, device, state)`` (the script's own loading and checks, ``state`` being
    the loop state ``--resume`` continues, None for a fresh run; its result is ``RunSetup.prepared``), then open
    the run folder (``--resume``'s, or a new ``rl-<env>-<script>-s<seed>-<YYYYmmdd-HHMMSS>``:
    :func:`~kd.common.utils.run_folder.run_name`) and save the config there (with ``--dry-run``: print the config
    and exit, creating nothing).
    A key of an earlier version (``distill.method``, ``distill.temperature``, ``distill.kickstart.total_steps``,
    ``teacher_checkpoint``, ``teacher.ppo.learning_rate``, ``eval.episodes``, ``distill.lr``: :data:`RENAMED`) is
    refused in one line with its new name.
    """
    config = load_rl_config(args)
    seed = int(config["seed"])
    check_periodic_seeds_apart(seed, config["evaluate"])
    set_threads(config["threads"])
    seed_everything(seed)
    device = resolve_device(args.device)
    make_env(config["env"]["name"], **(config["env"].get("kwargs") or {})).close()  # an unknown id fails here
    state = resumed_state(Path(args.resume)) if args.resume else None
    prepared = prepare(config, device, state) if prepare is not None else None
    exit_if_dry_run(args.dry_run, config)
    run = RunFolder(args.resume) if args.resume else \
        RunFolder.create(run_name("rl", config["env"]["name"], script, seed), args.runs_dir)
    run.save_config(config)
    state_file = run.checkpoints / LAST_CHECKPOINT
    if args.resume:
        print(f"resuming {run.path} after iteration {state['iteration']}" if state is not None
              else f"{state_file} not found: {run.path} starts from its first iteration")
    print(f"run folder: {run.path}")
    return RunSetup(config, seed, device, run, LoopCheckpoint(state_file, state), prepared)


def resumed_state(run: Path) -> dict | None:
    """The loop state ``run/checkpoints/last.pt`` (None: the run stopped before its first iteration ended). A run of
    an earlier version, which kept it in ``resume.pt`` and the final policy in ``last.pt``, is refused in one line
    saying which file to move, rather than restarted from its first iteration or read as the wrong file."""
    folder = run / "checkpoints"
    state_file, old_file = folder / LAST_CHECKPOINT, folder / "resume.pt"
    if old_file.is_file():
        raise CheckpointMismatchError(
            f"{run} was written by an earlier version, which kept the loop state in checkpoints/resume.pt; rename it "
            f"to {LAST_CHECKPOINT}, the loop state's name now (a {LAST_CHECKPOINT} already there is that version's "
            f"final policy: rename it to {LAST_UPDATE_CHECKPOINT} first), and --resume again")
    return require_training_state(safe_load(state_file), state_file) if state_file.is_file() else None


def load_rl_config(args: argparse.Namespace) -> dict:
    """The config of every RL script: :func:`~kd.common.utils.script_config.load_script_config` over default.yaml
    (``--resume``'s saved config plus overrides, a change to a FIXED_ON_RESUME key refused; else default.yaml <
    ``--config`` < overrides, every key of the preset checked against default.yaml as an override's is; ``--seed N``
    is ``seed=N``, and on ``--resume`` must be the run's). Keys under OPEN_SECTIONS are free; a key of RENAMED is
    refused with its new name, in a preset, an override and a resumed run's config.yaml (a run of an earlier version:
    the user writes the new name in that file to resume it)."""
    return load_script_config(args, DEFAULT_CONFIG, DEFAULT_CONFIG.parent, open_sections=OPEN_SECTIONS,
                              renamed=RENAMED, fixed=FIXED_ON_RESUME)
