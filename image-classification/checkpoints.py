"""Vision model checkpoints: weights + architecture name + its arguments, so a checkpoint rebuilds itself
and a mismatch (wrong architecture, wrong number of classes) is one clear line, not a shape error.

A checkpoint also records the data it was trained on (:func:`data_record`: data set, class names, input
shape, normalisation). Loaded for other data (an MNIST teacher given to digits: same ten classes, another
input), it is refused in one line unless the run sets ``data.allow_checkpoint_mismatch=true``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from torch import nn

from kd.common.utils.checkpoint import load_state_dict_checked, require_model, safe_load, save_model
from kd.common.utils.errors import CheckpointMismatchError
from kd.vision.model_registry import image_size_arg, rebuild_model

MISMATCH_OVERRIDE = "data.allow_checkpoint_mismatch=true"


def save_vision_model(model: nn.Module, path: str | Path, arch: str, num_classes: int, image_shape: Sequence[int],
                      arch_kwargs: dict | None = None, **meta) -> Path:
    """Save ``model`` so that :func:`load_vision_model` can rebuild it from the model registry."""
    kwargs = {"num_classes": num_classes, "in_channels": image_shape[0], "image_size": image_size_arg(image_shape),
              **(arch_kwargs or {})}
    return save_model(model, path, arch, kwargs, **meta)


def data_record(data) -> dict:
    """What a checkpoint records of the :class:`~kd.vision.data.VisionData` it was trained on (its ``meta``)."""
    norm = data.splits.normalisation
    return {"data": data.name, "class_names": [str(c) for c in data.class_names],
            "input_shape": list(data.image_shape),
            "normalisation": None if norm is None else {"mean": [float(m) for m in norm[0]],
                                                        "std": [float(s) for s in norm[1]]}}


def data_differences(meta: dict, data) -> list[str]:
    """How the data a checkpoint's ``meta`` records differs from ``data`` (only what both know is compared)."""
    now = data_record(data)
    out = []
    if meta.get("data") and meta["data"] != now["data"]:
        out.append(f"data set {meta['data']} vs {now['data']}")
    if meta.get("input_shape") and list(meta["input_shape"]) != now["input_shape"]:
        out.append(f"input shape {'x'.join(map(str, meta['input_shape']))} vs {'x'.join(map(str, now['input_shape']))}")
    if meta.get("class_names") and list(meta["class_names"]) != now["class_names"]:
        pairs = list(zip(meta["class_names"], now["class_names"]))
        first = next(((a, b) for a, b in pairs if a != b), None)
        detail = (f"'{first[0]}' vs '{first[1]}'" if first
                  else f"{len(meta['class_names'])} vs {len(now['class_names'])}")
        out.append(f"class names ({detail})")
    saved, current = meta.get("normalisation"), now["normalisation"]
    if saved and current and not all(_close(saved[key], current[key]) for key in ("mean", "std")):
        out.append(f"normalisation mean {_short(saved['mean'])} std {_short(saved['std'])} vs "
                   f"mean {_short(current['mean'])} std {_short(current['std'])}")
    return out


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-4) for x, y in zip(a, b))


def _short(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def load_vision_model(path: str | Path, arch: str | None = None, num_classes: int | None = None, data=None,
                      allow_other_data: bool = False) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint describes and load its weights; returns ``(model, checkpoint)``.

    ``arch`` / ``num_classes``, when given, are what the caller expects (e.g. the config's teacher and the
    data set's classes); a checkpoint for anything else raises :class:`CheckpointMismatchError`. With
    ``data`` (a :class:`~kd.vision.data.VisionData`), a checkpoint trained on other data (:func:`data_differences`)
    is refused too, unless ``allow_other_data``. So is a student saved without the parts its method deploys it with
    (``meta["deployed_in"]``: SimKD's projector and the teacher's classifier).
    """
    ckpt = require_model(safe_load(path), path, "pass a checkpoints/model.pt written by train_teacher or distill")
    if ckpt.get("meta", {}).get("deployed_in"):
        raise CheckpointMismatchError(f"'{path}' holds the backbone of a {ckpt['meta']['deployed_in']} (SimKD: the "
                                      "student with a projector and the teacher's classifier), without those parts: "
                                      "its own classifier never trained; the run's summary.md scores the whole, or "
                                      "pass another stage's model.pt (student_alone/)")
    saved_classes = ckpt["arch_kwargs"].get("num_classes")
    if arch is not None and ckpt["arch"] != arch:
        raise CheckpointMismatchError(f"'{path}' holds a '{ckpt['arch']}' but '{arch}' was asked for; "
                                      f"set the architecture to {ckpt['arch']} or pass a {arch} checkpoint")
    if num_classes is not None and saved_classes != num_classes:
        raise CheckpointMismatchError(f"'{path}' was trained for {saved_classes} classes but the data set has "
                                      f"{num_classes}; use a checkpoint trained on this data set")
    if data is not None:
        differences = data_differences(ckpt.get("meta", {}), data)
        if differences and not allow_other_data:
            raise CheckpointMismatchError(f"'{path}' was trained on other data than this run's {data.name}: "
                                          f"{'; '.join(differences)}; pass a checkpoint trained on this data, or "
                                          f"set {MISMATCH_OVERRIDE} to use it anyway")
        if differences:
            print(f"warning: '{path}' was trained on other data ({'; '.join(differences)}); used anyway "
                  f"({MISMATCH_OVERRIDE})")
    model = rebuild_model(ckpt["arch"], **ckpt["arch_kwargs"])
    load_state_dict_checked(model, ckpt["state_dict"], source=f"'{path}'")
    return model, ckpt
