"""The vision distill script under ``torchrun --nproc_per_node=2`` (gloo, CPU), and its labelled-views mode.

Under torchrun the script needs no flag: main_entry joins the process group, the loaders shard, rank 0
alone prints and writes one run folder, and the student still learns.
"""
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from kd.common.utils.errors import ConfigError


def test_distill_script_runs_data_parallel_under_torchrun(tmp_path, torchrun):
    runs = tmp_path / "runs"
    done = subprocess.run(torchrun(2, "-m", "kd.vision.scripts.distill", "--config", "digits_cnn_mlp",
                                   "--device", "cpu", "--runs-dir", str(runs), "teacher.epochs=2", "student.epochs=3"),
                          env=torchrun.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (run,) = list(runs.iterdir())  # one folder for the two ranks
    assert done.stdout.count("run folder:") == 2  # start and end, from rank 0 only
    rows = json.loads((run / "metrics.json").read_text())["final"]["rows"]
    student = next(v for k, v in rows.items() if k.startswith("student"))
    assert student["acc"] > 60 and student["agreement"] > 60  # 10 classes: chance is 10 %
    assert (run / "student_kd" / "checkpoints" / "model.pt").is_file()
    assert [r["epoch"] for r in json.loads((run / "student_kd" / "metrics.json").read_text())["history"]] == [1, 2, 3]


def image_folder(root, n=8, size=16):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c, cls in enumerate(("dark", "bright")):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 128, (size, size, 3), dtype=np.uint8) + 120 * c
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / cls / f"{i}.png")
    return root


def test_offline_distillation_from_labelled_views(tmp_path):
    from kd.vision.scripts import distill

    root = image_folder(tmp_path / "data")
    common = ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path / "runs"), "data.name=imagefolder",
              f"data.root={root}", "data.image_size=16", "data.batch_size=8", "distill.mode=offline",
              "distill.views=3", "teacher.arch=small_cnn", "student.arch=mlp", "teacher.epochs=1",
              "student.epochs=2", "student.kwargs={hidden: [16]}"]
    with pytest.raises(ConfigError, match="in_memory"):
        distill.main(common + ["data.in_memory=false"])
    rows = distill.main(common)   # in_memory: auto puts a small image folder in memory
    assert len(rows) == 2
    (run,) = list((tmp_path / "runs").iterdir())
    (cache,) = list((run / "soft_labels").glob("*-views3.pt"))
    assert cache.is_file()


def test_method_table_runs_data_parallel_under_torchrun(tmp_path, torchrun):
    """The result-table script on two gloo ranks: one folder per run, written once, and a full table."""
    root = image_folder(tmp_path / "data")
    runs = tmp_path / "runs"
    done = subprocess.run(torchrun(2, "-m", "kd.vision.scripts.method_table",
                                   "--config", "cifar10_resnet32x4_resnet8x4", "--device", "cpu",
                                   "--runs-dir", str(runs), f"data.root={root}", "data.num_workers=0",
                                   "data.batch_size=8", "data.eval_batch_size=8", "teacher.arch=small_cnn",
                                   "student.arch=mlp", "student.kwargs={hidden: [16]}", "teacher.epochs=2",
                                   "student.epochs=6", "teacher.schedule=constant", "student.schedule=constant",
                                   "teacher.optimizer=adam", "student.optimizer=adam", "teacher.lr=0.01",
                                   "student.lr=0.001", "run.methods=[student, kd]", "run.seeds=[0]"),
                          env=torchrun.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (table,) = list(runs.iterdir())
    assert sorted(p.name for p in table.glob("*-seed*")) == ["kd-seed0", "student-seed0", "teacher-seed0"]
    finals = {p.parent.name: json.loads(p.read_text())["final"] for p in table.glob("*/metrics.json")}
    assert all(f["test_images"] == 16 and f["test_acc"] >= 90 for f in finals.values())  # 2 classes: chance 50
    assert "| kd |" in (table / "summary.md").read_text()
    assert (table / "kd-seed0" / "checkpoints" / "model.pt").is_file()
