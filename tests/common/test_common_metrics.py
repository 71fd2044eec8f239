"""Metrics on hand-made logits and tiny models."""
import pytest
import torch
from torch import nn

from kd.common.metrics import (
    agreement,
    checkpoint_size_bytes,
    classification_report,
    compression_ratio,
    count_flops,
    count_parameters,
    expected_calibration_error,
    kl_to_teacher,
    measure_latency,
    topk_accuracy,
)


def test_topk_accuracy_by_hand():
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    labels = torch.tensor([0, 2, 0, 1])  # top1 hits: row 0; top2 hits: rows 0, 1
    acc = topk_accuracy(logits, labels, ks=(1, 2, 5))
    assert acc == {"top1": 25.0, "top2": 50.0, "top5": 100.0}


def test_top1_breaks_a_tie_as_the_arg_max_does():
    """Classes 3 and 7 tied on every row (bf16 logits tie often): top-1 is the arg-max's class 3 on every row, as in
    agreement and the confusion matrix, whatever order topk returns the two in."""
    logits = torch.zeros(50, 10)
    logits[:, [3, 7]] = 1.0
    labels = torch.full((50,), 3)
    assert topk_accuracy(logits, labels, ks=(1, 2)) == {"top1": 100.0, "top2": 100.0}
    assert agreement(logits, torch.nn.functional.one_hot(labels, 10).float()) == 100.0


def test_agreement_and_kl_to_teacher():
    teacher = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    assert agreement(teacher, teacher) == 100.0
    assert agreement(-teacher, teacher) == 0.0
    assert kl_to_teacher(teacher, teacher) == pytest.approx(0.0, abs=1e-7)


def test_ece_of_perfectly_calibrated_and_overconfident_predictions():
    # all predictions with confidence 1 and correct -> ECE 0; confidence ~1 and all wrong -> ECE ~100
    logits = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    assert expected_calibration_error(logits, torch.tensor([0, 1])) == pytest.approx(0.0, abs=1e-4)
    assert expected_calibration_error(logits, torch.tensor([1, 0])) == pytest.approx(100.0, abs=1e-4)
    # confidence 0.75, accuracy 50% -> ECE 25
    two = torch.log(torch.tensor([[0.75, 0.25], [0.75, 0.25]]))
    assert expected_calibration_error(two, torch.tensor([0, 1])) == pytest.approx(25.0, abs=1e-3)


def test_classification_report_keys():
    logits, teacher = torch.randn(20, 10), torch.randn(20, 10)
    labels = torch.randint(0, 10, (20,))
    report = classification_report(logits, labels, teacher)
    assert set(report) == {"acc", "errors", "acc_top5", "ece", "agreement", "kl_to_teacher"}
    assert report["errors"] == int((logits.topk(1).indices[:, 0] != labels).sum())
    assert report["acc"] == pytest.approx(100.0 * (20 - report["errors"]) / 20)


def test_parameters_flops_and_compression_of_a_linear_layer():
    model = nn.Linear(8, 4)
    assert count_parameters(model) == 8 * 4 + 4
    # a (N, 8) x (8, 4) matmul costs 2 * 8 * 4 FLOPs per example
    assert count_flops(model, torch.randn(16, 8)) == 2 * 8 * 4
    assert compression_ratio(nn.Linear(80, 40), model) == pytest.approx((80 * 40 + 40) / 36)


def test_latency_and_size_are_positive():
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    timing = measure_latency(model, torch.randn(4, 8), warmup=1, repeats=3)
    assert timing["latency_ms"] > 0 and timing["throughput"] > 0
    # float32 weights: at least 4 bytes per parameter plus the safetensors header
    assert checkpoint_size_bytes(model) >= 4 * count_parameters(model)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_latency_of_a_gpu_model_on_a_batch_made_on_the_cpu():
    """The NLP tasks collate their throughput batch on the CPU; the model is where it trained."""
    model = nn.Linear(8, 2).cuda()
    assert measure_latency(model, {"input": torch.randn(4, 8)}, warmup=1, repeats=3,
                           forward=lambda m, x: m(x["input"]))["throughput"] > 0


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_latency_is_measured_at_the_precision_the_accuracy_was(precision, dtype):
    """The speed of a bf16 run is that of its bf16 forward, as its accuracy's (predict under the same autocast)."""
    model, seen = nn.Linear(8, 2), []
    measure_latency(model, torch.randn(4, 8), warmup=1, repeats=2, precision=precision,
                    forward=lambda m, x: seen.append(m(x).dtype))
    assert seen == [dtype] * 3


def test_linear_cka_by_hand_and_its_invariances():
    from kd.common.metrics import linear_cka

    # X centred = [[-1], [1]], Y centred = [[-1, 0], [1, 0]]: ||Y^T X||^2 = 4, ||X^T X|| = 2, ||Y^T Y|| = 2 -> 1
    assert linear_cka(torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0, 5.0], [3.0, 5.0]])) == pytest.approx(1.0)
    # X = e1 column, Y = e2 direction orthogonal over examples: X = [-1, 1, 0, 0]-ish, Y = [0, 0, -1, 1]
    x = torch.tensor([[-1.0], [1.0], [0.0], [0.0]])
    y = torch.tensor([[0.0], [0.0], [-1.0], [1.0]])
    assert linear_cka(x, y) == pytest.approx(0.0, abs=1e-12)
    torch.manual_seed(0)
    feats = torch.randn(50, 6)
    rotation, _ = torch.linalg.qr(torch.randn(6, 6))
    assert linear_cka(feats, 3.0 * feats @ rotation + 1.0) == pytest.approx(1.0)
    assert linear_cka(feats, torch.randn(50, 4)) < 0.3
    with pytest.raises(ValueError, match="same examples"):
        linear_cka(feats, feats[:10])
