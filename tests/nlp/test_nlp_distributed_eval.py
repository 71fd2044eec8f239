"""NLP evaluation under ``torchrun --nproc_per_node=2`` (gloo, CPU) gives what one process gives.

distributed_eval_worker.py evaluates seeded models alone and on two ranks: the bucketed dev loader is
sharded by batches and ``predict`` puts the logits back in data-set order; validation perplexity adds
the ranks' NLL and token counts; beam search decodes every other batch per rank and gathers the outputs.
"""
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).with_name("distributed_eval_worker.py")


def test_sharded_evaluation_matches_one_process(tmp_path, torchrun):
    single, double = tmp_path / "single", tmp_path / "double"
    single.mkdir(), double.mkdir()
    procs = [subprocess.Popen(cmd, env=torchrun.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for cmd in ([sys.executable, str(WORKER), str(single)], torchrun(2, str(WORKER), str(double)))]
    for proc in procs:
        output, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, output[-3000:]
    alone = torch.load(single / "rank0.pt", weights_only=True)
    ranks = [torch.load(double / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert alone["world_size"] == 1 and ranks[0]["world_size"] == 2
    assert torch.equal(alone["labels"], torch.arange(37) % 3)  # data-set order, every example once
    for mine in ranks:
        assert torch.equal(mine["labels"], alone["labels"])
        torch.testing.assert_close(mine["logits"], alone["logits"], rtol=1e-5, atol=1e-6)
        assert abs(mine["ppl"] - alone["ppl"]) < 1e-6 * alone["ppl"]
        assert mine["hyps"] == alone["hyps"] and len(mine["hyps"]) == 37
