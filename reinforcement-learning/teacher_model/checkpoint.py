"""Save and reload a policy with its environment settings, so a reloaded policy scores what it scored.

The checkpoint (``torch.load(weights_only=True)``-safe) holds the architecture name and its kwargs,
the weights *including* the observation-normalisation statistics (buffers of the model), and in
``meta`` the environment (registry name and wrapper kwargs) plus whatever the script adds (algorithm,
evaluation figures).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kd.common.utils.checkpoint import load_state_dict_checked, require_model, safe_load, save_model
from kd.common.utils.errors import CheckpointMismatchError
from kd.rl.environments import same_env
from kd.rl.teacher_model.networks import POLICY_ARCHS


def save_policy(model: nn.Module, path: str | Path, env: dict, **meta) -> Path:
    """``env`` is ``{"name": registry name, "kwargs": {...wrapper settings}}``."""
    return save_model(model, path, arch=model.arch_name, arch_kwargs=model.arch_kwargs, env=env, **meta)


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the network by name, load its weights (normaliser included); return it in eval mode and its meta.
    The loop state ``checkpoints/last.pt`` or a file of another kind is refused in one line."""
    hint = "pass the checkpoints/model.pt a kd.rl train_teacher or distill run wrote"
    ckpt = require_model(safe_load(path), path, hint)
    if "env" not in ckpt.get("meta", {}):
        raise CheckpointMismatchError(f"'{path}' is not a policy checkpoint written by kd.rl (no env); {hint}")
    model = POLICY_ARCHS.build(ckpt["arch"], **ckpt["arch_kwargs"])
    load_state_dict_checked(model, ckpt["state_dict"], source=str(path))
    return model.to(device).eval(), ckpt["meta"]


def load_policy_for(path: str | Path, env: dict, device: str | torch.device, what: str) -> tuple[nn.Module, dict]:
    """:func:`load_policy` for a run on ``env``: a policy trained on another environment (or other wrapper
    settings) is one line naming both; ``what`` names the setting the path came from (``teacher.checkpoint``)."""
    policy, meta = load_policy(path, device)
    if not same_env(meta["env"], env):
        saved = meta["env"]
        raise CheckpointMismatchError(f"{what} '{path}' was trained on {saved['name']} {saved.get('kwargs') or {}}, "
                                      f"not on this run's {env['name']} {env.get('kwargs') or {}}; set "
                                      f"env.name={saved['name']} (and its env.kwargs), or pass a checkpoint trained "
                                      f"on {env['name']}")
    return policy, meta
