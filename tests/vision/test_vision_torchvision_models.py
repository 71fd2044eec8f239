"""torchvision models by name (kd.vision.torchvision_models): the model contract, published weights read from
TORCH_HOME (the file a download leaves there) with the head replaced for another class count, the one-line
offline error (before any run folder), checkpoints that rebuild without downloading, FitNet / AT / SimKD steps
between them, and a distill run from a published teacher on an ImageNet-layout folder, exported.

Offline and small: random weights, 32 x 32 images; the "published" weights are a random state dict written
where torchvision's download would put it, so the loading code is the one a user's run takes."""
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch.utils.data import TensorDataset

from kd.common.engine import Distiller
from kd.common.utils.errors import ConfigError, OfflineError, UnknownNameError
from kd.vision.checkpoints import load_vision_model, save_vision_model
from kd.vision.data import make_loader
from kd.vision.methods import METHODS
from kd.vision.methods.feature_taps import stage_map_shapes
from kd.vision.model_registry import MODELS, build_model
from kd.vision.scripts import distill, export
from kd.vision.torchvision_models import weights_file

CPU = torch.device("cpu")
IMAGE = (3, 32, 32)


@pytest.mark.parametrize("name, head, taps", [
    ("resnet18", "fc", [(64, 16, 16), (64, 8, 8), (128, 4, 4), (256, 2, 2), (512, 1, 1)]),
    ("mobilenet_v3_small", "classifier", [(16, 16, 16), (16, 8, 8), (24, 4, 4), (48, 2, 2), (576, 1, 1)]),
])
def test_torchvision_models_follow_the_vision_contract(name, head, taps):
    """Same logits as torchvision's forward; the stage maps are the stem/layers (one per resolution) and the
    classifier is the model's own head."""
    model = build_model(f"torchvision:{name}", num_classes=7, image_size=32).eval()
    x = torch.randn(2, *IMAGE)
    with torch.no_grad():
        logits, feats = model(x, return_features=True)
        assert torch.allclose(logits, model.model(x), atol=1e-5) and logits.shape == (2, 7)
    assert [tuple(s) for s in stage_map_shapes(model, IMAGE)] == taps
    assert feats[-1].shape == (2, taps[-1][0])
    assert model.classifier is getattr(model.model, head)


def test_unknown_and_unsupported_names_are_one_line():
    with pytest.raises(UnknownNameError, match="did you mean resnet18"):
        MODELS.get("torchvision:resnet19")
    with pytest.raises(ConfigError, match="does not know where this model's stages are"):
        MODELS.get("torchvision:vit_b_16")
    with pytest.raises(UnknownNameError, match="torchvision:<name>"):
        MODELS.get("resnet19")
    with pytest.raises(ConfigError, match="has no weights 'NEWEST'; choose one of: IMAGENET1K_V1, DEFAULT"):
        build_model("torchvision:mobilenet_v3_small", 10, weights="NEWEST")
    with pytest.raises(ConfigError, match="takes RGB or grey images"):
        build_model("torchvision:resnet18", 10, in_channels=4)


def test_grey_images_are_repeated_as_rgb():
    model = build_model("torchvision:mobilenet_v3_small", 10, in_channels=1, image_size=28).eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), model.model(x.expand(-1, 3, -1, -1)))
        assert model(x, return_features=True)[0].shape == (2, 10)


@pytest.fixture
def published(tmp_path, monkeypatch):
    """mobilenet_v3_small's DEFAULT weights as a download leaves them in $TORCH_HOME (random values here)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.MobileNet_V3_Small_Weights.DEFAULT
    state = torchvision.models.mobilenet_v3_small().state_dict()
    path = weights_file(weights)
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return state, path


def test_published_weights_load_and_another_class_count_gets_a_new_head(published, capsys):
    state, _ = published
    same = build_model("torchvision:mobilenet_v3_small", 1000, weights="DEFAULT")
    assert all(torch.equal(same.model.state_dict()[k], v) for k, v in state.items())
    assert "replaced" not in capsys.readouterr().out
    model = build_model("torchvision:mobilenet_v3_small", 10, weights="DEFAULT")
    line = capsys.readouterr().out
    assert "the published MobileNet_V3_Small_Weights.IMAGENET1K_V1 head has 1000 classes; replaced" in line
    kept = {k: v for k, v in state.items() if not k.startswith("classifier.3.")}
    assert all(torch.equal(model.model.state_dict()[k], v) for k, v in kept.items())
    assert model.classifier[3].out_features == 10


def test_checkpoint_of_a_pretrained_model_rebuilds_without_downloading(published, tmp_path):
    model = build_model("torchvision:mobilenet_v3_small", 10, weights="DEFAULT").eval()
    path = save_vision_model(model, tmp_path / "model.pt", "torchvision:mobilenet_v3_small", 10, IMAGE,
                             {"weights": "DEFAULT"})
    published[1].unlink()  # a download would now fail: the test's download function is never reached
    loaded, _ = load_vision_model(path, arch="torchvision:mobilenet_v3_small", num_classes=10)
    x = torch.randn(2, *IMAGE)
    assert torch.equal(loaded.eval()(x), model(x))


def test_offline_download_is_one_line_naming_the_file_and_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(url, dst, *args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(OfflineError) as err:
        build_model("torchvision:resnet34", 10, weights="DEFAULT")
    message = str(err.value)
    assert "\n" not in message and "ResNet34_Weights.IMAGENET1K_V1" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet34-b627a593.pth") in message
    assert "TORCH_HOME" in message


@pytest.mark.parametrize("method, teacher_name, student_name", [
    ("fitnet", "resnet18", "mobilenet_v3_small"), ("at", "resnet18", "mobilenet_v3_small"),
    ("sp", "resnet18", "mobilenet_v3_small"),
    ("simkd", "resnet18", "mobilenet_v3_small"),
    ("simkd", "mobilenet_v3_small", "resnet18"),  # the reused classifier is MobileNetV3's Linear-Hardswish-Linear head
])
def test_feature_methods_distil_a_torchvision_teacher_into_a_torchvision_student(method, teacher_name, student_name):
    """One Distiller epoch (two steps) of each feature method between torchvision models: the losses are finite,
    the student learns, the teacher stays as it was, and the deployed model gives logits."""
    torch.manual_seed(0)
    teacher = build_model(f"torchvision:{teacher_name}", 5, image_size=32).eval().requires_grad_(False)
    student = build_model(f"torchvision:{student_name}", 5, image_size=32)
    distiller_method = METHODS.build(method, teacher=teacher, student=student, num_classes=5, image_shape=IMAGE)
    before_s = [p.detach().clone() for p in student.parameters()]
    before_t = [p.detach().clone() for p in teacher.parameters()]
    params = list(student.parameters()) + [p for p in distiller_method.parameters() if p.requires_grad]
    distiller = Distiller(student, distiller_method, torch.optim.SGD(params, lr=0.01), device=CPU, teacher=teacher,
                          progress=False)
    loader = make_loader(TensorDataset(torch.randn(8, *IMAGE), torch.randint(0, 5, (8,))), 4, True, 0)
    record = distiller.fit(loader, 1)[-1]
    assert "loss" in record and all(torch.isfinite(torch.tensor(float(v))) for v in record.values())
    assert any(not torch.equal(a, p) for a, p in zip(before_s, student.parameters()))
    assert all(torch.equal(a, p) for a, p in zip(before_t, teacher.parameters()))
    deployed = distiller_method.inference_model(student).eval()
    assert deployed(torch.randn(2, *IMAGE)).shape == (2, 5)


def write_imagenet_folder(root, classes=("n01440764", "n01443537"), per_split=(("train", 4), ("val", 2))):
    """A tiny ImageNet-layout folder: train/<wnid>/ and val/<wnid>/ of random 40 x 48 JPEGs."""
    rng = np.random.default_rng(0)
    for split, count in per_split:
        for wnid in classes:
            (root / split / wnid).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / wnid / f"{i}.JPEG")
    return root


@pytest.mark.slow  # ~25 s on 2 cores: a distill run (plots, summary) and a first ONNX export
def test_distill_from_a_published_teacher_by_name_then_export(tmp_path, monkeypatch, capsys):
    """What a user's ImageNet run does, in miniature: torchvision:resnet18 with its published weights (read from
    TORCH_HOME) as a teacher that is not trained further, a MobileNetV3 student distilled with AT on an ImageNet-layout
    folder, then the student exported."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    weights_file(weights).parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), weights_file(weights))
    data = write_imagenet_folder(tmp_path / "imagenet")
    rows = distill.main(["--runs-dir", str(tmp_path / "runs"), "data.name=imagenet", f"data.root={data}",
                         "data.image_size=32", "data.batch_size=4", "teacher.arch=torchvision:resnet18",
                         "teacher.kwargs={weights: DEFAULT}", "teacher.epochs=0", "student.epochs=1",
                         "student.arch=torchvision:mobilenet_v3_small", "method.name=at", "train.precision=fp32"])
    out = capsys.readouterr().out
    assert "torchvision:resnet18: the published ResNet18_Weights.IMAGENET1K_V1 head has 1000 classes; replaced" in out
    assert len(rows) == 2
    (run,) = (tmp_path / "runs").iterdir()
    config = export.main([str(run)])
    assert config["arch"] == "torchvision:mobilenet_v3_small" and config["onnx_max_abs_diff"] < 1e-4


def test_offline_run_stops_before_its_run_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(url, dst, *args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(OfflineError, match="could not download the weights ResNet34_Weights"):
        distill.main(["--runs-dir", str(tmp_path / "runs"), "teacher.arch=torchvision:resnet34",
                      "teacher.kwargs={weights: DEFAULT}"])
    assert not (tmp_path / "runs").exists()
