"""Two processes (gloo, CPU, launched by torchrun) train the same student as one process does.

distributed_worker.py runs the Distiller under ``torchrun --nproc_per_node=2`` and alone; with the
same global batch the final weights (student and the method's projector) agree, the reduced loss
terms and the whole-set evaluation (gathered over ranks, padding dropped) are the single-process ones,
a resumed run lands on the same weights, a NaN on one rank stops both, one run folder is written by
rank 0 alone, and the device loader's shards and the sharded labelling of the logit cache match one process.
"""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("distributed_worker.py")


@pytest.fixture(scope="module")
def results(tmp_path_factory, torchrun):
    single, double = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("ddp")
    procs = [subprocess.Popen(cmd, env=torchrun.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for cmd in ([sys.executable, str(WORKER), str(single)], torchrun(2, str(WORKER), str(double)))]
    outputs = []
    for proc in procs:
        output, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, output[-3000:]
        outputs.append(output)
    load = lambda path: torch.load(path, weights_only=True)  # noqa: E731
    results = load(single / "rank0.pt"), load(double / "rank0.pt"), load(double / "rank1.pt")
    return (*results, outputs[1], double)


def assert_state_close(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def test_two_ranks_reach_the_single_process_weights(results):
    single, rank0, rank1, _, _ = results
    assert (single["world_size"], rank0["world_size"]) == (1, 2)
    assert_state_close(rank0["student"], single["student"])
    assert_state_close(rank0["method"], single["method"])  # the projector is averaged over ranks too
    assert_state_close(rank1["student"], rank0["student"])


def test_device_loader_shards_and_the_logit_cache_labelled_by_two_ranks_match_one(results):
    single, rank0, rank1, _, _ = results
    assert torch.equal(rank0["cache_logits"], single["cache_logits"])
    assert torch.equal(rank1["cache_logits"], single["cache_logits"])
    assert_state_close(rank0["conv_student"], single["conv_student"])
    assert_state_close(rank1["conv_student"], single["conv_student"])


def test_reduced_metrics_are_the_single_process_ones(results):
    single, rank0, rank1, _, _ = results
    for mine, ref in zip(rank0["history"], single["history"]):
        assert mine.keys() == ref.keys()
        assert mine["n_eval"] == ref["n_eval"] == 51 and mine["label_sum"] == ref["label_sum"]
        assert mine["acc"] == ref["acc"]
        for key in ("loss", "loss_ce", "loss_kd", "loss_hint", "lr"):
            assert mine[key] == pytest.approx(ref[key], rel=1e-5)
    assert rank1["history"] == rank0["history"]
    torch.testing.assert_close(rank0["eval_logits"], single["eval_logits"], rtol=1e-4, atol=1e-5)
    # a loader sharded by whole batches (length bucketing) gathers every example once, in data-set order
    logits, labels = rank0["batch_sharded_eval"]
    ref_logits, ref_labels = single["batch_sharded_eval"]
    assert torch.equal(labels, ref_labels) and torch.equal(labels, rank1["batch_sharded_eval"][1])
    torch.testing.assert_close(logits, ref_logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(logits, single["eval_logits"], rtol=1e-4, atol=1e-5)


def test_resume_and_checkpoint_under_two_ranks(results):
    single, rank0, rank1, _, _ = results
    assert rank0["resumed_epochs"] == [1, 2]  # rank 0 returns the run folder's history
    assert rank1["resumed_epochs"] == [2]  # other ranks return the epochs they ran
    assert_state_close(rank0["resumed_student"], single["student"])
    assert_state_close(rank1["resumed_student"], single["student"])
    assert rank0["wrote_checkpoint"]


def test_one_run_folder_written_by_rank_0_and_one_voice(results):
    _, rank0, rank1, output, out = results
    assert rank0["run_path"] == rank1["run_path"]
    assert len([p for p in out.iterdir() if p.name.startswith("full")]) == 1
    assert "printed by rank 0" in output and "printed by rank 1" not in output


def test_a_nan_on_one_rank_stops_every_rank(results):
    single, rank0, rank1, _, _ = results
    assert single["stopped_on_nan"] and rank0["stopped_on_nan"] and rank1["stopped_on_nan"]


def test_sharded_batch_sampler_splits_batches_and_pads_for_training():
    from kd.common.engine import ShardedBatchSampler

    batches = [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    train = [list(ShardedBatchSampler(batches, num_replicas=2, rank=r)) for r in range(2)]
    assert train == [[[0, 1], [4, 5], [8]], [[2, 3], [6, 7], [0, 1]]]  # equal step counts for DDP
    evaluation = [list(ShardedBatchSampler(batches, num_replicas=2, rank=r, pad=False)) for r in range(2)]
    assert evaluation == [[[0, 1], [4, 5], [8]], [[2, 3], [6, 7]]]  # every example once
    assert [len(ShardedBatchSampler(batches, 2, r, pad=False)) for r in range(2)] == [3, 2]
