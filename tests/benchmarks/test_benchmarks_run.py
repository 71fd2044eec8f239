"""The benchmark scripts run end to end on tiny CPU sizes, so a GPU session spends its time measuring.

No figure is asserted on (timings do not belong in tests): each script must finish, print its table and
write its JSON with one entry per loop.
"""
import json
import textwrap

import pytest
import torch


def test_vision_throughput_times_reference_online_and_offline(load_benchmark, tmp_path, capsys):
    out = load_benchmark("vision_throughput").main([
        "--device", "cpu", "--teacher", "small_cnn", "--student", "small_cnn", "--num-classes", "10",
        "--batch-size", "4", "--warmup", "1", "--steps", "2", "--workers", "0", "--views", "2",
        "--json", str(tmp_path / "vision.json")])
    rates = out["images_per_second"]
    assert len(rates) == 3 and all(v > 0 for v in rates.values())
    assert json.loads((tmp_path / "vision.json").read_text())["images_per_second"] == rates
    assert "vs reference" in capsys.readouterr().out


def test_time_to_accuracy_trains_teacher_then_student(load_benchmark, tmp_path):
    fake = tmp_path / "cifar10_jpeg.py"  # stands in for ../shared/data/cifar10_jpeg.py: same load_arrays()
    fake.write_text(textwrap.dedent("""
        import numpy as np

        def load_arrays():
            rng = np.random.default_rng(0)
            images = lambda n: rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
            return images(64), rng.integers(0, 10, 64), images(20), rng.integers(0, 10, 20), [str(c) for c in range(10)]
    """))
    summary = load_benchmark("time_to_accuracy").main([
        "--cifar10", str(fake), "--device", "cpu", "--teacher", "small_cnn", "--student", "small_cnn",
        "--teacher-epochs", "2", "--student-epochs", "1", "--batch-size", "8", "--offline", "--views", "2",
        "--runs-dir", str(tmp_path / "runs"), "--json", str(tmp_path / "tta.json")])
    assert [r["epoch"] for r in summary["teacher"]["history"]] == [1, 2]
    assert summary["mode"] == "offline" and len(summary["student"]["history"]) == 1
    assert json.loads((tmp_path / "tta.json").read_text())["student"]["final_acc"] == summary["student"]["final_acc"]


@pytest.mark.parametrize("model", ["small_bert", "minilm"])
def test_nlp_throughput_compares_padded_bucketed_and_bf16(load_benchmark, tmp_path, model):
    from kd.common.utils.device import fast_bf16

    sst2 = tmp_path / "train.tsv"
    sst2.write_text("sentence\tlabel\n" + "".join(f"{'good ' * (1 + i % 7)}film\t{i % 2}\n" for i in range(64)))
    out = load_benchmark("nlp_throughput").main([
        "--device", "cpu", "--sst2", str(sst2), "--model", model, "--batch-size", "8", "--hidden", "32",
        "--layers", "1", "--heads", "2", "--warmup", "1", "--steps", "2", "--json", str(tmp_path / "nlp.json")])
    assert json.loads((tmp_path / "nlp.json").read_text()) == out
    loops = ["padded to 128, shuffled, fp32", "dynamic padding + length buckets, fp32"]
    loops += ["dynamic padding + length buckets, bf16"] if fast_bf16(torch.device("cpu")) else []
    assert list(out["results"]) == loops
