"""Exporting a trained model for deployment, in any domain: its weights in safetensors beside the JSON config
that rebuilds it, and an ONNX graph whose outputs are checked against PyTorch's on the same inputs.

```python
save_weights_and_config(model, folder, {"arch": "resnet8", "arch_kwargs": {...}})  # model.safetensors + config.json
export_onnx(model, example, folder / "model.onnx")                                  # batch size left dynamic
onnx_max_difference(folder / "model.onnx", model, inputs)                          # max |ONNX Runtime - PyTorch|
```

safetensors holds tensors only (no pickle, so loading one runs no code); the config says which registry entry
and arguments rebuild the module to load them into. ONNX is written by ``torch.onnx.export``'s
``torch.export``-based exporter (which needs onnxscript), as one self-contained file, with the first input
dimension (the batch) dynamic; ONNX Runtime runs it on the CPU.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def save_weights_and_config(model: nn.Module, folder: str | Path, config: dict) -> tuple[Path, Path]:
    """Write ``model``'s state dict as ``folder/model.safetensors`` and ``config`` as ``folder/config.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    weights, config_path = folder / WEIGHTS_FILE, folder / CONFIG_FILE
    save_file(state, weights, metadata={"format": "pt"})
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return weights, config_path


def load_weights_and_config(folder: str | Path) -> tuple[dict[str, Tensor], dict]:
    """``(state_dict, config)`` of a folder :func:`save_weights_and_config` wrote."""
    folder = Path(folder)
    return load_file(folder / WEIGHTS_FILE), json.loads((folder / CONFIG_FILE).read_text())


def export_onnx(model: nn.Module, example: Tensor, path: str | Path) -> Path:
    """Export ``model(example)`` (``model`` in eval mode) to ONNX with the batch dimension dynamic: input
    ``input``, output ``output``; one file, the weights inside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    try:
        torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["output"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, external_data=False,
                          verbose=False)
    finally:
        model.train(was_training)
    return path


@torch.no_grad()
def onnx_max_difference(path: str | Path, model: nn.Module, inputs: Tensor) -> float:
    """Largest absolute difference between ONNX Runtime's (CPU) outputs for ``inputs`` and ``model``'s."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ours = session.run(None, {session.get_inputs()[0].name: inputs.cpu().numpy()})[0]
    was_training = model.training
    reference = model.eval()(inputs).float().cpu().numpy()
    model.train(was_training)
    return float(abs(ours - reference).max())
