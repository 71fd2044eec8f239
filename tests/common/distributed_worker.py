"""One rank of test_distributed_engine.py's job (``torchrun --nproc_per_node=2``), or, run alone, the reference.

    python distributed_worker.py OUT_DIR            # writes OUT_DIR/rank<r>.pt with what the test compares

The job trains a tiny MLP student through the Distiller with a method that has parameters of its own
(a projector), on the same global batch of 32 whatever the number of processes, evaluates it with
``predict`` on a sharded loader whose size does not split evenly, resumes an interrupted run, and
checks that a loss that is non-finite on one rank only stops every rank. On images, it trains a small
conv net from the sharded device loader (augmented on the fly) and labels an augmentation-aware logit
cache with the labelling split over ranks.
"""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset

from kd.common.engine import (DistillationMethod, Distiller, EpochShuffleSampler, ShardedBatchSampler, predict,
                              teacher_forward)
from kd.common.losses import soft_target_kl
from kd.common.utils import distributed
from kd.common.utils.errors import NonFiniteLossError
from kd.common.utils.run_folder import RunFolder
from kd.vision.data.augmentation_cache import AugmentedLogitCache
from kd.vision.data.device_loader import DeviceImageLoader
from kd.vision.methods import METHODS

GLOBAL_BATCH, EPOCHS = 32, 2
PRECISION = "fp32"  # the comparisons with one process are to fp32 rounding; bf16 would blur them


class MLP(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, hidden), nn.Tanh())
        self.classifier = nn.Linear(hidden, 3)

    def forward(self, x, return_features=False):
        h = self.body(x)
        return (self.classifier(h), [h]) if return_features else self.classifier(h)


class ProjectedKD(DistillationMethod):
    """CE + soft-target KL + MSE between the projected student hidden layer and the teacher's."""

    def __init__(self, nan_on_rank=None):
        super().__init__(weights={"ce": 1.0, "kd": 1.0, "hint": 0.5})
        self.projector = nn.Linear(16, 32)
        self.nan_on_rank = nan_on_rank

    def forward(self, student, teacher, batch):
        x, y = batch
        s, (h,) = student(x, return_features=True)
        t, (ht,) = teacher_forward(teacher, x, return_features=True)
        hint = F.mse_loss(self.projector(h), ht)
        if self.nan_on_rank == distributed.get_rank():
            hint = hint * float("nan")
        return {"ce": F.cross_entropy(s, y), "kd": soft_target_kl(s, t, 2.0), "hint": hint}


def blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    return centres[y] + 0.8 * torch.randn(n, 2, generator=g), y


def make_distiller(teacher, run, init_seed=0, nan_on_rank=None):
    torch.manual_seed(init_seed)
    student, method = MLP(16), ProjectedKD(nan_on_rank)
    opt = torch.optim.SGD([*student.parameters(), *method.parameters()], lr=0.2, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return Distiller(student, method, opt, device=torch.device("cpu"), teacher=teacher, scheduler=sched,
                     run=run, progress=False, log_every=2, precision=PRECISION)


def images_phase(ctx) -> dict:
    """A conv student on the sharded device loader (global batch 16) and a cache labelled by all ranks."""
    g = torch.Generator().manual_seed(3)
    pixels = torch.randint(0, 256, (40, 8, 8, 3), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 2, (40,), generator=g)
    stats = dict(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    torch.manual_seed(5)
    teacher = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    cache = AugmentedLogitCache.build(teacher, pixels, num_views=3, pad=1, progress=False, precision=PRECISION,
                                      **stats)
    torch.manual_seed(6)
    student = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    method = METHODS.build("kd", teacher=None, student=student, num_classes=2, image_shape=(3, 8, 8))
    loader = DeviceImageLoader(pixels, labels, distributed.per_rank_batch_size(16), augment=True, pad=1, shuffle=True,
                               views=cache, **stats)
    opt = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9)
    Distiller(student, method, opt, device=ctx.device, progress=False, precision=PRECISION).fit(loader, 2)
    return {"cache_logits": cache.logits, "conv_student": {k: v.clone() for k, v in student.state_dict().items()}}


def main(out: Path) -> None:
    ctx = distributed.init_distributed("cpu")
    torch.manual_seed(123)
    teacher = MLP(32)
    x, y = blobs(128, seed=0)
    xe, ye = blobs(51, seed=1)  # 51 examples: the shards are padded and the last batches are short
    train = DataLoader(TensorDataset(x, y), batch_size=distributed.per_rank_batch_size(GLOBAL_BATCH),
                       sampler=EpochShuffleSampler(len(x), seed=7, **distributed.shard_kwargs()))
    test = DataLoader(TensorDataset(xe, ye), batch_size=8,
                      sampler=EpochShuffleSampler(len(xe), shuffle=False, **distributed.shard_kwargs()))
    eval_logits = []

    def evaluate(distiller):
        def run(epoch):
            logits, labels = predict(distiller.student, test, ctx.device, precision=PRECISION)
            eval_logits.append(logits)
            return {"acc": (logits.argmax(-1) == labels).float().mean().item() * 100, "n_eval": len(labels),
                    "label_sum": int(labels.sum())}
        return run

    print(f"printed by rank {ctx.rank}")
    full_run = RunFolder.create("full", out, tensorboard=False)
    full = make_distiller(teacher, full_run)
    history = full.fit(train, EPOCHS, evaluate=evaluate(full))
    # batches in an order of their own (as length buckets make them): last batch first, each one reversed
    scrambled = [batch[::-1] for batch in BatchSampler(SequentialSampler(range(len(xe))), 8, drop_last=False)][::-1]
    by_batch = DataLoader(TensorDataset(xe, ye), batch_sampler=ShardedBatchSampler(
        scrambled, pad=False, **distributed.shard_kwargs()))
    batch_logits, batch_labels = predict(full.student, by_batch, ctx.device, precision=PRECISION)

    part = make_distiller(teacher, RunFolder(out / "part", tensorboard=False))
    part.fit(train, 1)
    resumed = make_distiller(teacher, RunFolder(out / "part", tensorboard=False), init_seed=99)
    resumed_history = resumed.fit(train, EPOCHS, resume=True)

    stopped = False
    try:
        make_distiller(teacher, None, nan_on_rank=ctx.world_size - 1).fit(train, 1)
    except NonFiniteLossError:
        stopped = True

    torch.save({
        **images_phase(ctx),
        "world_size": ctx.world_size,
        "student": {k: v.clone() for k, v in full.student.state_dict().items()},
        "method": {k: v.clone() for k, v in full.method.state_dict().items()},
        "resumed_student": {k: v.clone() for k, v in resumed.student.state_dict().items()},
        "history": [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in history],
        "resumed_epochs": [r["epoch"] for r in resumed_history],
        "eval_logits": eval_logits[-1],
        "run_path": str(full_run.path),
        "batch_sharded_eval": (batch_logits, batch_labels),
        "stopped_on_nan": stopped,
        "wrote_checkpoint": (full_run.checkpoints / "last.pt").is_file(),
    }, out / f"rank{ctx.rank}.pt")
    distributed.close_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
