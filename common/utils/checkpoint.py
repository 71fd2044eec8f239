"""Checkpoints: atomic writes (temp file, then rename) and safe loading (``weights_only=True``).

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)`` and never unpickles arbitrary objects. Model checkpoints carry the
architecture name and its keyword arguments, so a mismatch is reported by name, not by a shape error.

Every domain names them alike in a run's ``checkpoints/``: ``last.pt`` (:data:`LAST_CHECKPOINT`) is the resumable
training state (``--resume`` continues from it), ``model.pt`` (:data:`MODEL_CHECKPOINT`) the weights a later stage
or a user loads (``teacher.checkpoint=...``, evaluate, export); a transformers model is also (or instead) the
``save_pretrained`` folder ``model/`` (:data:`MODEL_FOLDER`). :func:`require_model` and
:func:`require_training_state` refuse the one where the other is expected, in one line.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kd.common.utils import distributed
from kd.common.utils.errors import CheckpointMismatchError, MissingPathError, UnreadableFileError

LAST_CHECKPOINT = "last.pt"  # resumable training state: what --resume continues from
MODEL_CHECKPOINT = "model.pt"  # the weights (save_model): what a later stage or a user loads
MODEL_FOLDER = "model"  # the same model in the save_pretrained layout (transformers models)
MODEL_KEYS = ("arch", "arch_kwargs", "state_dict")


def file_fingerprint(path: str | Path, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of a file: names a teacher's cached outputs, so a retrained
    teacher never reuses stale ones."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same folder, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def atomic_save_on_main(obj: Any, path: str | Path) -> Path:
    """:func:`atomic_save` by rank 0 only (every process when not distributed); all ranks wait for the file.

    For results every rank computed alike (a gathered teacher-logit cache): one writer, none ahead of it.
    """
    if distributed.is_main():
        atomic_save(obj, path)
    distributed.barrier()
    return Path(path)


def safe_load(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``.

    A missing file is a :class:`MissingPathError`; a file that does not load (cut short by a copy, empty,
    not a PyTorch file, or pickling objects other than tensors and plain values) an :class:`UnreadableFileError`,
    both one line.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingPathError(f"checkpoint '{path}' does not exist; pass the path of a .pt file a run wrote")
    try:
        with warnings.catch_warnings():  # a pickle that is no checkpoint warns before it fails
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever torch.load raises, the file is not a readable checkpoint
        raise UnreadableFileError(f"checkpoint '{path}' cannot be read ({_load_failure(err)}); copy it again or "
                                  "pass another .pt file a run wrote") from None


def _load_failure(err: Exception) -> str:
    """What went wrong in ``torch.load``, in a few words."""
    if isinstance(err, EOFError):
        return "the file is empty or cut short"
    if "Weights only load failed" in str(err):
        return "it pickles objects other than tensors and plain values, which a weights only load never runs"
    if "zip archive" in str(err) or "central directory" in str(err):
        return "the file is truncated or damaged: its zip archive is incomplete"
    if isinstance(err, (KeyError, pickle.UnpicklingError)):
        return "not a PyTorch checkpoint"
    return f"{type(err).__name__}: {str(err).splitlines()[0][:160]}" if str(err) else type(err).__name__


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Load a saved optimiser state (moments, step counts) but keep the optimiser's own settings.

    ``optimizer.load_state_dict`` also brings back the saved learning rate, weight decay, momentum and betas,
    so a run resumed with a changed ``lr`` would silently train at the old one. Here the settings the
    optimiser was built with (from the resumed run's config) win; only the per-parameter state is taken.
    """
    settings = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, own in zip(optimizer.param_groups, settings):
        group.update(own)


def save_model(model: nn.Module, path: str | Path, arch: str, arch_kwargs: dict, **meta: Any) -> Path:
    """Save a model's weights with the architecture name, its kwargs and any metadata (e.g. class names)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return atomic_save({"arch": arch, "arch_kwargs": dict(arch_kwargs), "state_dict": state, "meta": meta}, path)


def checkpoint_kind(ckpt: Any) -> str:
    """``"model"`` (weights written by :func:`save_model`), ``"state"`` (a resumable training state: the engine's
    ``epoch``/``optimizer`` or an RL loop's ``iteration``/``rng``) or ``"other"``."""
    if not isinstance(ckpt, dict):
        return "other"
    if set(MODEL_KEYS) <= set(ckpt):
        return "model"
    if {"epoch", "optimizer"} <= set(ckpt) or {"iteration", "rng"} <= set(ckpt):
        return "state"
    return "other"


def require_model(ckpt: Any, path: str | Path, hint: str = f"pass the checkpoints/{MODEL_CHECKPOINT} a run wrote"
                  ) -> dict:
    """``ckpt`` if it holds a model's weights; a training state or anything else is one line saying what it is."""
    kind = checkpoint_kind(ckpt)
    if kind == "state":
        raise CheckpointMismatchError(f"'{path}' is a run's resumable training state (what --resume continues from), "
                                      f"not model weights; pass the checkpoints/{MODEL_CHECKPOINT} of that run")
    if kind != "model":
        raise CheckpointMismatchError(f"'{path}' is not a model checkpoint (it lacks {'/'.join(MODEL_KEYS)}); {hint}")
    return ckpt


def require_training_state(ckpt: Any, path: str | Path) -> dict:
    """``ckpt`` if it is a resumable training state; model weights (or anything else) are one line saying so."""
    kind = checkpoint_kind(ckpt)
    if kind == "model":
        raise CheckpointMismatchError(f"'{path}' holds model weights, not the training state --resume continues "
                                      f"from (checkpoints/{LAST_CHECKPOINT}); model weights are "
                                      f"checkpoints/{MODEL_CHECKPOINT}")
    if kind != "state":
        raise CheckpointMismatchError(f"'{path}' is not a training state written by a kd run; --resume continues "
                                      f"from the checkpoints/{LAST_CHECKPOINT} that run wrote")
    return ckpt


def load_state_dict_checked(model: nn.Module, state_dict: dict, source: str = "checkpoint") -> None:
    """``load_state_dict`` that turns missing/unexpected keys and shape mismatches into one clear line."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and own[k].shape != state_dict[k].shape
    ]
    if missing or unexpected or wrong:
        details = "; ".join(
            part
            for part in (
                f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}" if missing else "",
                f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}" if unexpected else "",
                f"shape {wrong[0]}" if wrong else "",
            )
            if part
        )
        raise CheckpointMismatchError(
            f"{source} does not match the model ({details}); check the architecture and the number of classes"
        )
    model.load_state_dict(state_dict)
