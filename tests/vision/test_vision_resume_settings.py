"""The advice after a diverging loss works when followed: ``--resume RUN student.lr=<lower>`` trains on from the
last checkpoint at the lower rate, and the run's config.yaml says so."""
import json

import pytest
import yaml

from kd.common.utils.checkpoint import safe_load
from kd.vision.scripts import distill


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_a_diverging_run_is_reported_and_resumes_at_the_lower_rate(tmp_path, capsys, shifted_teacher):
    _, teacher = shifted_teacher
    common = ["--config", "digits_cnn_mlp", "--runs-dir", str(tmp_path), f"teacher.checkpoint={teacher}",
              "student.labelled_fraction=1.0", "student.schedule=constant", "student.epochs=1"]
    distill.main([*common, "student.lr=1e6"])  # Adam at 1e6: the loss explodes and stays finite
    err = capsys.readouterr().err
    (run,) = tmp_path.iterdir()
    warning = next(line for line in err.splitlines() if line.startswith("warning: the loss grew"))
    assert warning.endswith(f"--resume {run} student.lr=<lower>")

    distill.main(["--resume", str(run), "student.lr=0.001", "student.epochs=2"])
    history = json.loads((run / "student_kd" / "metrics.json").read_text())["history"]
    assert [r["lr"] for r in history] == [1e6, 0.001]
    last = safe_load(run / "student_kd" / "checkpoints" / "last.pt")
    assert last["epoch"] == 2 and last["optimizer"]["param_groups"][0]["lr"] == 0.001
    assert yaml.safe_load((run / "config.yaml").read_text())["student"]["lr"] == 0.001
