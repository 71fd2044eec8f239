"""Each research method distils a CNN teacher into a small CNN on the 8x8 digits and the student learns."""
import pytest
import torch

from kd.common.engine import Distiller, predict
from kd.common.metrics import agreement, topk_accuracy
from kd.common.utils.seed import seed_everything
from kd.vision.data import build_data
from kd.vision.methods import METHODS
from kd.vision.model_registry import build_model


@pytest.fixture(scope="module")
def digits_and_teacher():
    torch.set_num_threads(1)
    seed_everything(0)
    data = build_data({"name": "digits", "batch_size": 64})
    teacher = build_model("cnn", 10, in_channels=1, image_size=8, channels=(16, 32))
    method = METHODS.build("supervised", teacher=None, student=teacher, num_classes=10, image_shape=data.image_shape)
    Distiller(teacher, method, torch.optim.Adam(teacher.parameters(), 3e-3), device=torch.device("cpu"),
              progress=False).fit(data.train_loader, 4)
    teacher.eval().requires_grad_(False)
    teacher_logits, labels = predict(teacher, data.test_loader, torch.device("cpu"))
    assert topk_accuracy(teacher_logits, labels, (1,))["top1"] > 80
    return data, teacher, teacher_logits


@pytest.mark.parametrize("name, kwargs", [
    ("fitnet", {}),
    ("at", {"stages": 2, "weights": {"at": 100.0}}),   # beta=1000 is for 32x32 maps; these are 8x8 and 4x4
    ("dkd", {"warmup": 1}),
    ("simkd", {}),
    ("simkd", {"loss": "kl", "weights": {"ce": 1.0}}),
    ("simkd", {"projectors": 2}),
    ("simkd", {"all_layers": True}),
])
def test_method_distils_a_student_that_learns(digits_and_teacher, name, kwargs):
    data, teacher, teacher_logits = digits_and_teacher
    seed_everything(1)
    student = build_model("small_cnn", 10, in_channels=1, image_size=8)
    method = METHODS.build(name, teacher=teacher, student=student, num_classes=10, image_shape=data.image_shape,
                           **kwargs)
    params = [p for p in list(student.parameters()) + list(method.parameters()) if p.requires_grad]
    distiller = Distiller(student, method, torch.optim.Adam(params, 3e-3), device=torch.device("cpu"),
                          teacher=teacher, progress=False)
    history = distiller.fit(data.train_loader, 4)
    assert history[-1]["loss"] < history[0]["loss"]
    deployed = method.inference_model(student)
    logits, labels = predict(deployed, data.test_loader, torch.device("cpu"))
    assert topk_accuracy(logits, labels, (1,))["top1"] > 30          # chance is 10%
    assert agreement(logits, teacher_logits) > 30
