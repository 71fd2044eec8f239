"""Exporting a distilled vision model for deployment, and loading it back (kd.common.utils.export does the files).

A run's model checkpoint (``RUN_DIR/<stage>/checkpoints/model.pt``, stage ``student_kd`` by default) becomes

```
OUT/model.safetensors   the weights (tensors only)
OUT/config.json         arch + arch_kwargs (what rebuilds the model from kd.vision's registry), input shape,
                        class names, normalisation, and the ONNX check below
OUT/model.onnx          the same model for ONNX Runtime, batch size dynamic; input: normalised images (N, C, H, W)
```

``load_exported(OUT)`` rebuilds the PyTorch model. The ONNX graph is checked once at export: ONNX Runtime's
outputs on a random batch against PyTorch's (``onnx_max_abs_diff`` in config.json).

A SimKD student is deployed as student + projector + the teacher's classifier (methods/simkd.py); its
model.pt holds the student alone, so such a run is refused rather than exported without its head.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kd.common.metrics import count_parameters
from kd.common.utils.config import load_yaml
from kd.common.utils.errors import ConfigError, MissingPathError
from kd.common.utils.export import (
    export_onnx,
    load_weights_and_config,
    onnx_max_difference,
    save_weights_and_config,
)
from kd.vision.checkpoints import load_vision_model
from kd.vision.model_registry import INITIALISATION_ARGUMENTS, rebuild_model

CHECKPOINT = Path("checkpoints") / "model.pt"
ONNX_FILE = "model.onnx"
CHECK_BATCH = 4  # images in the ONNX-vs-PyTorch check


def stage_checkpoint(run_dir: str | Path, stage: str = "student_kd") -> Path:
    """The model checkpoint of ``stage`` in a run folder (or ``run_dir`` itself when it is a .pt file)."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        return run_dir
    path = run_dir / stage / CHECKPOINT
    if not path.is_file():
        stages = sorted(p.parent.parent.name for p in run_dir.glob(f"*/{CHECKPOINT}"))
        raise MissingPathError(f"'{path}' does not exist; pass a run folder a vision script wrote and --stage one of: "
                               f"{', '.join(stages) or '(none: no stage there has checkpoints/model.pt)'}")
    config = run_dir / "config.yaml"
    if (stage.startswith("student_kd") and config.is_file()
            and load_yaml(config).get("method", {}).get("name") == "simkd"):
        raise ConfigError(f"'{run_dir}' distilled with SimKD: its deployed model is the student + projector + the "
                          "teacher's classifier, and model.pt holds the student alone; export another stage "
                          "(--stage student_alone) or a run of another method")
    return path


def input_shape(ckpt: dict) -> tuple[int, int, int]:
    """``(C, H, W)`` a checkpoint's model takes: its recorded input shape, else its architecture arguments."""
    shape = ckpt.get("meta", {}).get("input_shape")
    if shape:
        return tuple(shape)
    kwargs = ckpt["arch_kwargs"]
    size = kwargs.get("image_size", 32)
    height, width = (size, size) if isinstance(size, int) else size
    return kwargs.get("in_channels", 3), height, width


def export_vision_model(checkpoint: str | Path, out: str | Path) -> dict:
    """Write the checkpoint's model into ``out`` (module docstring); returns the config.json it wrote."""
    model, ckpt = load_vision_model(checkpoint)
    model.eval()
    shape = input_shape(ckpt)
    meta = ckpt.get("meta", {})
    config = {"arch": ckpt["arch"],
              "arch_kwargs": {k: v for k, v in ckpt["arch_kwargs"].items() if k not in INITIALISATION_ARGUMENTS},
              "input_shape": list(shape), "class_names": meta.get("class_names"),
              "normalisation": meta.get("normalisation"), "data": meta.get("data"),
              "parameters": count_parameters(model), "source": str(checkpoint)}
    out = Path(out)
    onnx_path = export_onnx(model, torch.zeros(1, *shape), out / ONNX_FILE)
    config["onnx_max_abs_diff"] = onnx_max_difference(onnx_path, model, torch.randn(CHECK_BATCH, *shape))
    save_weights_and_config(model, out, config)
    return config


def load_exported(folder: str | Path) -> nn.Module:
    """The PyTorch model of an export folder, rebuilt from the registry with its safetensors weights (eval mode)."""
    state, config = load_weights_and_config(folder)
    model = rebuild_model(config["arch"], **config["arch_kwargs"])
    model.load_state_dict(state)
    return model.eval()
