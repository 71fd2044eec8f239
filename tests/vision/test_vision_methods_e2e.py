"""Each research method distils the shifted-label CNN teacher (conftest.py) into a small CNN on the 8x8 digits,
and each test fails when the method's distillation term is switched off:

- logit and SimKD methods: the student follows the teacher against the labels (agreement with the teacher
  far above its accuracy on the true labels);
- feature methods (FitNet, AT, SP): the student's features move towards the teacher's, measured against the
  same student trained with the term's weight at 0 (the control), by a measure the method does not train.
"""
import pytest
import torch
import torch.nn.functional as F

from kd.common.engine import Distiller, predict
from kd.common.losses import attention_transfer_loss, similarity_preserving_loss
from kd.common.metrics import agreement, topk_accuracy
from kd.common.utils.seed import seed_everything
from kd.vision.methods import METHODS
from kd.vision.methods.feature_taps import student_outputs, teacher_outputs
from kd.vision.methods.projectors import HintRegressor
from kd.vision.model_registry import build_model

CPU = torch.device("cpu")
EPOCHS = 12


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def distil(digits, teacher, name, **kwargs):
    """A small_cnn student (seed 1) trained EPOCHS epochs with method ``name``; returns (student, method)."""
    seed_everything(1)
    student = build_model("small_cnn", 10, in_channels=1, image_size=8)
    method = METHODS.build(name, teacher=teacher, student=student, num_classes=10, image_shape=digits.image_shape,
                           **kwargs)
    params = [p for p in list(student.parameters()) + list(method.parameters()) if p.requires_grad]
    history = Distiller(student, method, torch.optim.Adam(params, 3e-3), device=CPU, teacher=teacher,
                        progress=False).fit(digits.train_loader, EPOCHS)
    assert history[-1]["loss"] < history[0]["loss"]
    return student.eval(), method


def accuracy_of(digits, model) -> float:
    logits, labels = predict(model, digits.test_loader, CPU)
    return topk_accuracy(logits, labels, (1,))["top1"]


@pytest.mark.parametrize("name, kwargs", [
    ("kd", {}),
    ("dkd", {"warmup": 1}),
    ("simkd", {}),
    ("simkd", {"loss": "kl", "weights": {"ce": 0.1}}),
    ("simkd", {"projectors": 2}),
    ("simkd", {"all_layers": True}),
])
def test_student_follows_the_teacher_against_the_labels(digits, shifted_teacher, name, kwargs):
    teacher, _ = shifted_teacher
    student, method = distil(digits, teacher, name, **kwargs)
    deployed = method.inference_model(student)
    logits, labels = predict(deployed, digits.test_loader, CPU)
    teacher_logits, _ = predict(teacher, digits.test_loader, CPU)
    assert agreement(logits, teacher_logits) > 75          # measured 84-98 (12 epochs)
    assert topk_accuracy(logits, labels, (1,))["top1"] < 25   # the labels lose: measured 0-4


def stage_maps_of(model, images, teacher=False):
    with torch.no_grad():
        return (teacher_outputs if teacher else student_outputs)(model, images)[1]


def fitted_hint_error(digits, student, teacher, hint_layer: int, guided_layer: int) -> float:
    """Test MSE of the teacher's guided map regressed from the frozen student's hint map by a fresh
    :class:`HintRegressor` fitted on the training images: how much of the teacher's feature the student's
    holds, the same measure for a FitNet student and for the control (which never trained a regressor)."""
    train_x, test_x = digits.splits.train.tensors[0], digits.splits.test.tensors[0]
    s_train, t_train = stage_maps_of(student, train_x)[hint_layer], stage_maps_of(teacher, train_x, True)[guided_layer]
    seed_everything(5)
    regressor = HintRegressor(s_train.shape[1:], t_train.shape[1:])
    optimizer = torch.optim.Adam(regressor.parameters(), 3e-3)
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(train_x)).split(64):
            loss = F.mse_loss(regressor(s_train[batch]), t_train[batch])  # not hint_loss: unaffected by mutations
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        predicted = regressor.eval()(stage_maps_of(student, test_x)[hint_layer])
        return F.mse_loss(predicted, stage_maps_of(teacher, test_x, True)[guided_layer]).item()


def test_fitnet_pulls_the_hint_layer_towards_the_teachers_guided_layer(digits, shifted_teacher):
    teacher, _ = shifted_teacher
    fitnet, method = distil(digits, teacher, "fitnet")
    control, _ = distil(digits, teacher, "fitnet", weights={"hint": 0.0})
    layers = method.hint_layer, method.guided_layer
    pulled, unpulled = (fitted_hint_error(digits, s, teacher, *layers) for s in (fitnet, control))
    assert pulled < 0.75 * unpulled, (pulled, unpulled)     # measured 0.15 vs 0.28
    assert accuracy_of(digits, fitnet) > 60                # it also learns the (true) labels


def test_attention_transfer_matches_the_teachers_attention_maps(digits, shifted_teacher):
    teacher, _ = shifted_teacher
    kwargs = {"stages": 2}   # beta=1000 is for 32x32 maps; these are 8x8 and 4x4
    at, method = distil(digits, teacher, "at", **kwargs, weights={"at": 100.0})
    control, _ = distil(digits, teacher, "at", **kwargs, weights={"at": 0.0})
    test_x = digits.splits.test.tensors[0]
    t_maps = stage_maps_of(teacher, test_x, True)

    def distance(student):
        s_maps = stage_maps_of(student, test_x)
        return attention_transfer_loss([s_maps[i] for i, _ in method.pairs],
                                       [t_maps[j] for _, j in method.pairs]).item()

    assert distance(at) < 0.5 * distance(control), (distance(at), distance(control))   # measured 4x apart
    assert accuracy_of(digits, at) > 60


def test_similarity_preserving_matches_how_the_teacher_relates_the_test_images(digits, shifted_teacher):
    """On the 360 test images at once (training saw batches of 64), the student's last-stage similarity matrix
    moves towards the teacher's."""
    teacher, _ = shifted_teacher
    sp, method = distil(digits, teacher, "sp")
    control, _ = distil(digits, teacher, "sp", weights={"sp": 0.0})
    test_x = digits.splits.test.tensors[0]
    (i, j), = method.pairs
    t_map = stage_maps_of(teacher, test_x, True)[j]

    def distance(student):
        return similarity_preserving_loss(stage_maps_of(student, test_x)[i], t_map).item()

    assert distance(sp) < 0.5 * distance(control), (distance(sp), distance(control))   # measured 2.7x apart
    assert accuracy_of(digits, sp) > 60
