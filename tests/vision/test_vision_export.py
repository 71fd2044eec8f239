"""``python -m kd.vision.scripts.export RUN_DIR``: safetensors + config.json that rebuild the model from the
registry, and an ONNX graph whose ONNX Runtime outputs match PyTorch's on the same inputs (another batch size
than the one exported with: the batch is dynamic)."""
import json

import onnxruntime
import pytest
import torch

from kd.common.utils.config import save_yaml
from kd.common.utils.errors import ConfigError, MissingPathError
from kd.vision.checkpoints import save_vision_model
from kd.vision.export import load_exported
from kd.vision.model_registry import build_model
from kd.vision.scripts import export

IMAGE = (3, 32, 32)


def write_run(root, arch: str, method: str = "kd"):
    """A run folder as distill leaves it: config.yaml and student_kd/checkpoints/model.pt (random weights)."""
    torch.manual_seed(0)
    model = build_model(arch, 10, image_size=32).eval()
    save_yaml({"method": {"name": method}}, root / "config.yaml")
    save_vision_model(model, root / "student_kd" / "checkpoints" / "model.pt", arch, 10, IMAGE,
                      data="cifar10", class_names=[str(i) for i in range(10)], input_shape=list(IMAGE))
    return model


@pytest.mark.parametrize("arch", ["resnet8", "torchvision:mobilenet_v3_small"])
def test_export_writes_safetensors_config_and_an_onnx_graph_that_matches_pytorch(tmp_path, arch):
    model = write_run(tmp_path, arch)
    config = export.main([str(tmp_path)])
    out = tmp_path / "export" / "student_kd"
    assert json.loads((out / "config.json").read_text()) == config
    assert (config["arch"], config["input_shape"], config["data"]) == (arch, list(IMAGE), "cifar10")
    x = torch.randn(3, *IMAGE)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(load_exported(out)(x), expected)  # rebuilt from the registry + safetensors
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == (3, 10)
    assert abs(torch.from_numpy(got) - expected).max() < 1e-4
    assert config["onnx_max_abs_diff"] < 1e-4


def test_export_refuses_a_simkd_student_and_names_the_stages(tmp_path):
    write_run(tmp_path, "resnet8", method="simkd")
    with pytest.raises(ConfigError, match="SimKD"):
        export.main([str(tmp_path)])
    with pytest.raises(MissingPathError, match="--stage one of: student_kd"):
        export.main([str(tmp_path), "--stage", "teacher"])
