"""A teacher that knows something the labels do not say: a digits CNN trained on shifted labels.

It answers (y + 1) mod 10 for an image of digit y. A student trained on the true labels *and* this
teacher can follow only one of them, so a distillation test asserts that the student agrees with the
teacher far more than with the labels; with the distillation term switched off it learns the labels
and the test fails (see ../shared/tools/kd_detach_plugin.py).
"""
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from kd.common.engine import Distiller, predict
from kd.common.metrics import topk_accuracy
from kd.common.utils.seed import seed_everything
from kd.vision.checkpoints import save_vision_model
from kd.vision.data import VisionData, build_data, make_loader
from kd.vision.methods import METHODS
from kd.vision.model_registry import build_model

CPU = torch.device("cpu")


@pytest.fixture
def interrupt_epochs(monkeypatch):
    """``interrupt_epochs(when)``: every Distiller raises KeyboardInterrupt (an interrupted run) at the start of an
    epoch where ``when(distiller)`` holds; returns the call that puts the real epochs back (for the resume)."""
    original = Distiller._train_epoch

    def install(when):
        def interrupted(self, loader, epochs):
            if when(self):
                raise KeyboardInterrupt
            return original(self, loader, epochs)

        monkeypatch.setattr(Distiller, "_train_epoch", interrupted)
        return lambda: monkeypatch.setattr(Distiller, "_train_epoch", original)

    return install


@pytest.fixture
def whitening_gram():
    """``whitening_gram(weight)``: ``F^T F`` for the positive filters ``F`` of a whitening conv's weight (one row per
    patch dimension), which is ``(C + eps)^-1`` for the patch covariance ``C``. Two fits of the same patches give the
    same matrix, where their filters (eigenvectors, each with a free sign) need not agree."""
    def gram(weight: torch.Tensor) -> torch.Tensor:
        dim = weight[0].numel()
        filters = weight[:dim].reshape(dim, dim)
        return filters.t() @ filters

    return gram


def shifted(labels: torch.Tensor) -> torch.Tensor:
    """The teacher's labelling: digit y is called (y + 1) mod 10, a permutation without a fixed point."""
    return (labels + 1) % 10


@pytest.fixture(scope="session")
def digits() -> VisionData:
    return build_data({"name": "digits", "batch_size": 64})


@pytest.fixture(scope="session")
def shifted_teacher(digits, tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    """``(teacher, checkpoint)``: the digits preset's CNN trained 4 epochs on shifted labels, frozen."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    seed_everything(0)
    images, labels = digits.splits.train.tensors
    teacher = build_model("cnn", 10, in_channels=1, image_size=8)
    method = METHODS.build("supervised", teacher=None, student=teacher, num_classes=10, image_shape=(1, 8, 8))
    Distiller(teacher, method, torch.optim.Adam(teacher.parameters(), 3e-3), device=CPU, progress=False).fit(
        make_loader(TensorDataset(images, shifted(labels)), 64, True, 0), 4)
    teacher.eval().requires_grad_(False)
    logits, test_labels = predict(teacher, digits.test_loader, CPU)
    assert topk_accuracy(logits, shifted(test_labels), (1,))["top1"] > 95
    path = save_vision_model(teacher, tmp_path_factory.mktemp("shifted_teacher") / "model.pt", "cnn", 10, (1, 8, 8),
                             data="digits")
    torch.set_num_threads(threads)
    return teacher, path
