"""Two processes (gloo, CPU, launched by torchrun) train the same student as one process does.

distributed_worker.py runs the Distiller under ``torchrun --nproc_per_node=2`` and alone; with the
same global batch the final weights (student and the method's projector) agree, the reduced loss
terms and the whole-set evaluation (gathered over ranks, padding dropped) are the single-process ones,
a resumed run lands on the same weights, and a NaN on one rank stops both.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("distributed_worker.py")


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    single, double = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("ddp")
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
              str(WORKER), str(double)]
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(single)], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
             subprocess.Popen(launch, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    for proc in procs:
        output, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, output[-3000:]
    load = lambda path: torch.load(path, weights_only=True)  # noqa: E731
    return load(single / "rank0.pt"), load(double / "rank0.pt"), load(double / "rank1.pt")


def assert_state_close(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def test_two_ranks_reach_the_single_process_weights(results):
    single, rank0, rank1 = results
    assert (single["world_size"], rank0["world_size"]) == (1, 2)
    assert_state_close(rank0["student"], single["student"])
    assert_state_close(rank0["method"], single["method"])  # the projector is averaged over ranks too
    assert_state_close(rank1["student"], rank0["student"])


def test_reduced_metrics_are_the_single_process_ones(results):
    single, rank0, rank1 = results
    for mine, ref in zip(rank0["history"], single["history"]):
        assert mine.keys() == ref.keys()
        assert mine["n_eval"] == ref["n_eval"] == 51 and mine["label_sum"] == ref["label_sum"]
        assert mine["acc"] == ref["acc"]
        for key in ("loss", "loss_ce", "loss_kd", "loss_hint", "lr"):
            assert mine[key] == pytest.approx(ref[key], rel=1e-5)
    assert rank1["history"] == rank0["history"]
    torch.testing.assert_close(rank0["eval_logits"], single["eval_logits"], rtol=1e-4, atol=1e-5)


def test_resume_and_checkpoint_under_two_ranks(results):
    single, rank0, rank1 = results
    assert rank0["resumed_epochs"] == [1, 2]  # rank 0 returns the run folder's history
    assert rank1["resumed_epochs"] == [2]  # other ranks return the epochs they ran
    assert_state_close(rank0["resumed_student"], single["student"])
    assert_state_close(rank1["resumed_student"], single["student"])
    assert rank0["wrote_checkpoint"]


def test_a_nan_on_one_rank_stops_every_rank(results):
    single, rank0, rank1 = results
    assert single["stopped_on_nan"] and rank0["stopped_on_nan"] and rank1["stopped_on_nan"]
