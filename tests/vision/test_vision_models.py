"""The vision model contract: logits shape, return_features, classifier, parameter counts."""
import pytest
import torch
from torch import nn

from kd.common.metrics import count_parameters
from kd.common.utils.errors import CheckpointMismatchError, ConfigError, UnknownNameError
from kd.vision.checkpoints import load_vision_model, save_vision_model
from kd.vision.model_registry import MODELS, build_model

ALL = MODELS.names()


@pytest.mark.parametrize("name", ALL)
def test_contract(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=7, in_channels=3, image_size=32).eval()
    x = torch.randn(2, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (2, 7)
    logits2, feats = model(x, return_features=True)
    assert torch.allclose(logits, logits2)
    assert isinstance(model.classifier, nn.Linear) and model.classifier.out_features == 7
    assert feats[-1].shape == (2, model.classifier.in_features)
    assert torch.allclose(model.classifier(feats[-1]), logits, atol=1e-5)  # feats[-1] is the classifier's input
    assert all(f.shape[0] == 2 for f in feats)


@pytest.mark.parametrize("name,channels,size", [("cnn", 1, 8), ("mlp", 1, 8), ("small_cnn", 1, 28),
                                                ("resnet_tiny", 1, 28), ("resnet8", 3, 32)])
def test_other_input_sizes(name, channels, size):
    model = build_model(name, num_classes=10, in_channels=channels, image_size=size)
    logits, feats = model(torch.randn(3, channels, size, size), return_features=True)
    assert logits.shape == (3, 10)
    conv_feats = [f for f in feats[:-1] if f.dim() == 4]
    assert all(f.shape[1] > 0 for f in conv_feats)


@pytest.mark.parametrize("name,millions", [("resnet32x4", 7.43), ("resnet8x4", 1.23), ("wrn_40_2", 2.26),
                                           ("wrn_16_2", 0.70), ("resnet56", 0.86), ("resnet110", 1.74),
                                           ("resnet20", 0.28)])
def test_param_counts_match_repdistiller(name, millions):
    assert round(count_parameters(build_model(name, num_classes=100)) / 1e6, 2) == millions


def test_configurable_resnet():
    model = build_model("resnet", num_classes=5, depth=14, widths=[8, 16, 32])  # 2 stages of 3 blocks
    _, feats = model(torch.randn(1, 3, 32, 32), return_features=True)
    assert [f.shape[1] for f in feats] == [8, 16, 32, 32]
    bottleneck = build_model("resnet", num_classes=5, depth=29, widths=[16, 16, 32, 64], block="bottleneck")
    assert bottleneck.classifier.in_features == 256
    with pytest.raises(ConfigError):
        build_model("resnet", num_classes=5, depth=15)


def test_unknown_model_name():
    with pytest.raises(UnknownNameError, match="unknown model 'resnet9000'.*resnet8x4"):
        build_model("resnet9000", num_classes=10)


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    model = build_model("mlp", num_classes=10, in_channels=1, image_size=8, hidden=[16])
    path = save_vision_model(model, tmp_path / "m.pt", "mlp", 10, (1, 8, 8), {"hidden": [16]})
    loaded, ckpt = load_vision_model(path, arch="mlp", num_classes=10)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    with pytest.raises(CheckpointMismatchError, match="holds a 'mlp' but 'cnn'"):
        load_vision_model(path, arch="cnn")
    with pytest.raises(CheckpointMismatchError, match="10 classes but the data set has 100"):
        load_vision_model(path, num_classes=100)


def test_wrong_model_argument_is_config_error():
    with pytest.raises(ConfigError,
                       match="model 'small_cnn' takes no argument 'hidden'; known: .*in_channels, num_classes"):
        build_model("small_cnn", num_classes=10, hidden=[64])
