"""torch.distributed for the supervised scripts: one process per GPU, launched by ``torchrun``.

```bash
torchrun --nproc_per_node=4 -m kd.vision.scripts.distill --config ...      # one node, 4 GPUs
torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=8 -m kd.vision.scripts.distill ...
```

A script wrapped by ``main_entry`` joins the process group by itself (``init_from_launcher``: it reads
torchrun's ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` and ``--device``; without them it is a plain
single process; other ranks' prints are silenced; other code calls ``init_distributed``), and it
needs one line per loader: ``sampler=EpochShuffleSampler(n, seed, **shard_kwargs())`` (batch samplers:
``ShardedBatchSampler(batch_sampler, **shard_kwargs())``; the device loader shards by itself) so each rank
reads its own shard. The rest follows: :class:`~kd.common.engine.Distiller` wraps the student and the
method's parameters in DistributedDataParallel itself, logs and writes checkpoints on rank 0 only and
averages the loss terms over ranks; :func:`~kd.common.engine.predict` gathers every rank's logits in
the data set's order (padding dropped), so whole-set metrics are the single-process ones;
``RunFolder.create`` gives every rank the same folder and only rank 0 writes to it.

Data parallelism is exact: with a per-rank batch ``B / W`` the averaged gradient of W ranks is the
gradient of the global batch ``B`` (for losses that are means over the batch; BatchNorm statistics
stay per rank, as in torchvision's reference recipes without ``--sync-bn``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits: its rank among ``world_size`` processes and the device it drives."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def init_distributed(device: str | None = "auto", backend: str | None = None,
                     quiet_other_ranks: bool = True) -> DistributedContext:
    """Join the process group torchrun describes in the environment; a plain process when there is none.

    The device: under torchrun each rank drives ``cuda:LOCAL_RANK`` (``--device cpu`` keeps it on the
    CPU, with gloo); alone it is :func:`resolve_device`'s choice. The backend is NCCL on CUDA, gloo on
    the CPU. ``quiet_other_ranks`` sends the standard output of ranks other than 0 to /dev/null, so a
    script's prints and tables appear once (errors, on stderr, still show from every rank). Calling it
    again returns the same context.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1 and not is_initialized():
        return DistributedContext(device=resolve_device(device))
    local_rank = _env_int("LOCAL_RANK", 0)
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(chosen)
    if not is_initialized():
        dist.init_process_group(backend=backend or ("nccl" if chosen.type == "cuda" else "gloo"))
    if quiet_other_ranks and dist.get_rank() != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                              device=chosen)


def init_from_launcher(argv: list[str]) -> DistributedContext | None:
    """Join the process group when torchrun started this process (``WORLD_SIZE`` > 1), on the device
    that ``--device`` in ``argv`` names; ``None`` for a plain process. Called by ``main_entry``, so
    every script runs under torchrun without code of its own."""
    if _env_int("WORLD_SIZE", 1) <= 1:
        return None
    device = "auto"
    for i, arg in enumerate(argv):
        if arg == "--device" and i + 1 < len(argv):
            device = argv[i + 1]
        elif arg.startswith("--device="):
            device = arg.split("=", 1)[1]
    return init_distributed(device)


def close_distributed() -> None:
    """Leave the process group (at the end of a script; harmless when there is none)."""
    if is_initialized():
        dist.destroy_process_group()


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main() -> bool:
    """Whether this process is rank 0, the one that prints, logs and writes files."""
    return get_rank() == 0


def barrier() -> None:
    if get_world_size() > 1:
        dist.barrier()


def shard_kwargs() -> dict[str, int]:
    """``{"num_replicas": W, "rank": r}`` for a sampler or a loader that shards the data set over ranks."""
    return {"num_replicas": get_world_size(), "rank": get_rank()}


def per_rank_batch_size(global_batch_size: int) -> int:
    """The batch each rank loads so that the ranks together step on ``global_batch_size`` examples."""
    world = get_world_size()
    if global_batch_size % world:
        raise ConfigError(f"the batch size {global_batch_size} does not split over {world} processes; "
                          f"use a multiple of {world}")
    return global_batch_size // world


# ------------------------------------------------------------------------------------------- reduction
def all_reduce_sum(tensor: Tensor) -> Tensor:
    """The element-wise sum of ``tensor`` over ranks (a new tensor; the input is left as it was)."""
    if get_world_size() == 1:
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def reduce_means(sums: dict[str, Tensor], count: Tensor | float) -> dict[str, Tensor]:
    """Global means ``sum_r sums_r[k] / sum_r count_r`` of per-rank sums and counts, in one all-reduce.

    Reducing sums and counts (never averaging per-rank means) keeps the mean right when ranks hold
    different numbers of items, e.g. an uneven last batch.
    """
    if not sums:
        return {}
    names = sorted(sums)
    first = sums[names[0]]
    device = first.device if isinstance(first, Tensor) else torch.device("cpu")
    packed = torch.stack([torch.as_tensor(sums[k], dtype=torch.float64, device=device) for k in names]
                         + [torch.as_tensor(count, dtype=torch.float64, device=device)])
    packed = all_reduce_sum(packed)
    return {k: packed[i] / packed[-1].clamp_min(1) for i, k in enumerate(names)}


def all_gather_uneven(tensor: Tensor) -> list[Tensor]:
    """Every rank's ``tensor`` (the first dimension may differ between ranks), in rank order."""
    world = get_world_size()
    if world == 1:
        return [tensor]
    size = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    sizes = [int(s.item()) for s in sizes]
    longest = max(sizes)
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return [part[:n] for part, n in zip(parts, sizes)]


def gather_sharded(tensor: Tensor, num_samples: int | None = None) -> Tensor:
    """Undo a strided shard: rank r held items ``r, r+W, r+2W, ...``; return them in the original order.

    This is the layout of :class:`~kd.common.engine.EpochShuffleSampler`, ``DistributedSampler`` and
    the device loader (each rank takes every W-th index of one order, the order padded at its end with
    repeats so every rank has as many). Interleaving the ranks' tensors rebuilds the order and
    truncating to ``num_samples`` drops exactly the padded repeats. Ranks of different lengths (a
    sampler that does not pad) are concatenated in rank order instead, without truncation.
    """
    parts = all_gather_uneven(tensor)
    if len(parts) == 1:
        return tensor if num_samples is None else tensor[:num_samples]
    if len({p.shape[0] for p in parts}) != 1:
        return torch.cat(parts)
    merged = torch.stack(parts, dim=1).flatten(0, 1)
    return merged if num_samples is None else merged[:num_samples]


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s Python object on every rank (e.g. a run folder's path or 'was there a checkpoint').

    Only use it for plain values the ranks of one job produce themselves (it pickles).
    """
    if get_world_size() == 1:
        return obj
    holder = [obj if get_rank() == src else None]
    dist.broadcast_object_list(holder, src=src)
    return holder[0]


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's Python object, in rank order (e.g. each rank's share of beam-search outputs).

    Only use it for plain values the ranks of one job produce themselves (it pickles).
    """
    if get_world_size() == 1:
        return [obj]
    out = [None] * get_world_size()
    dist.all_gather_object(out, obj)
    return out


# ------------------------------------------------------------------------------------------- wrapping
def wrap_ddp(module: nn.Module, device: torch.device, static_graph: bool = True) -> nn.Module:
    """``DistributedDataParallel(module)`` when several processes run, else ``module`` itself.

    ``static_graph=True`` lets a step leave some parameters without gradient (e.g. SimKD never uses
    the student's own classifier) as long as it is the same ones every step, at no per-step cost.
    Modules without trainable parameters are returned as they are (DDP refuses them).
    """
    if get_world_size() == 1 or not any(p.requires_grad for p in module.parameters()):
        return module
    ids = None
    if device.type == "cuda":
        ids = [device.index if device.index is not None else torch.cuda.current_device()]
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, static_graph=static_graph)


def rank_zero_print(*args: Any, **kwargs: Any) -> None:
    if is_main():
        print(*args, **kwargs)

