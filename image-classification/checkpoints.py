"""Vision model checkpoints: weights + architecture name + its arguments, so a checkpoint rebuilds itself
and a mismatch (wrong architecture, wrong number of classes) is one clear line, not a shape error."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from torch import nn

from kd.common.utils.checkpoint import load_state_dict_checked, safe_load, save_model
from kd.common.utils.errors import CheckpointMismatchError
from kd.vision.model_registry import build_model


def save_vision_model(model: nn.Module, path: str | Path, arch: str, num_classes: int, image_shape: Sequence[int],
                      arch_kwargs: dict | None = None, **meta) -> Path:
    """Save ``model`` so that :func:`load_vision_model` can rebuild it with :func:`build_model`."""
    kwargs = {"num_classes": num_classes, "in_channels": image_shape[0], "image_size": image_shape[-1],
              **(arch_kwargs or {})}
    return save_model(model, path, arch, kwargs, **meta)


def load_vision_model(path: str | Path, arch: str | None = None, num_classes: int | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint describes and load its weights; returns ``(model, checkpoint)``.

    ``arch`` / ``num_classes``, when given, are what the caller expects (e.g. the config's teacher and the
    data set's classes); a checkpoint for anything else raises :class:`CheckpointMismatchError`.
    """
    ckpt = safe_load(path)
    if not {"arch", "arch_kwargs", "state_dict"} <= set(ckpt):
        raise CheckpointMismatchError(f"'{path}' is not a model checkpoint (it lacks arch/arch_kwargs/state_dict); "
                                      "pass a checkpoints/model.pt written by train_teacher or distill")
    saved_classes = ckpt["arch_kwargs"].get("num_classes")
    if arch is not None and ckpt["arch"] != arch:
        raise CheckpointMismatchError(f"'{path}' holds a '{ckpt['arch']}' but '{arch}' was asked for; "
                                      f"set the architecture to {ckpt['arch']} or pass a {arch} checkpoint")
    if num_classes is not None and saved_classes != num_classes:
        raise CheckpointMismatchError(f"'{path}' was trained for {saved_classes} classes but the data set has "
                                      f"{num_classes}; use a checkpoint trained on this data set")
    model = build_model(ckpt["arch"], **ckpt["arch_kwargs"])
    load_state_dict_checked(model, ckpt["state_dict"], source=f"'{path}'")
    return model, ckpt


def load_weights_into(model: nn.Module, path: str | Path) -> dict:
    """Load a checkpoint's weights into an already built ``model`` (one line on any mismatch)."""
    ckpt = safe_load(path)
    load_state_dict_checked(model, ckpt.get("state_dict", ckpt), source=f"'{path}'")
    return ckpt
