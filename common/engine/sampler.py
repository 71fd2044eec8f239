"""A shuffling sampler whose order is a pure function of (seed, epoch), so a resumed run sees the same batches."""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler


class EpochShuffleSampler(Sampler[int]):
    """Random permutation of ``range(n)`` drawn from ``seed + epoch``; call :meth:`set_epoch` each epoch.

    With ``num_replicas > 1`` each rank takes every ``num_replicas``-th index of the same permutation
    (padded to equal length), as ``torch.utils.data.DistributedSampler`` does.
    """

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True, num_replicas: int = 1, rank: int = 0):
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        if self.num_replicas > 1:
            per_rank = -(-self.n // self.num_replicas)
            order = (order + order[: per_rank * self.num_replicas - self.n])[self.rank :: self.num_replicas]
        return order

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices())

    def __len__(self) -> int:
        return -(-self.n // self.num_replicas) if self.num_replicas > 1 else self.n


class ShardedBatchSampler(Sampler[list[int]]):
    """Rank ``rank``'s share of any batch sampler: batches ``rank, rank + W, rank + 2W, ...``.

    For batch samplers that decide batches themselves (length bucketing) and so cannot shard by index.
    ``pad=True`` (training) repeats the first batches so every rank takes as many steps, which DDP
    needs; ``pad=False`` (evaluation) leaves the last round short, so no example is seen twice and
    :func:`~kd.common.engine.predict` gathers exactly the data set. ``set_epoch`` is passed on.
    """

    def __init__(self, batch_sampler, num_replicas: int = 1, rank: int = 0, pad: bool = True):
        self.batch_sampler, self.num_replicas, self.rank, self.pad = batch_sampler, num_replicas, rank, pad

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)

    def _all_batches(self) -> list[list[int]]:
        """Every rank's batches, interleaved (padded with the first ones when ``pad``)."""
        batches = list(self.batch_sampler)
        if self.pad and self.num_replicas > 1:
            rounds = -(-len(batches) // self.num_replicas)
            batches += batches[: rounds * self.num_replicas - len(batches)]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._all_batches()[self.rank :: self.num_replicas])

    def gathered_indices(self) -> list[int]:
        """The data-set index of every example once all ranks' outputs are concatenated in rank order
        (:func:`kd.common.utils.distributed.all_gather_uneven`); :func:`~kd.common.engine.predict` uses
        it to put the outputs back in data-set order, whatever order the batches were made in."""
        batches = self._all_batches()
        return [i for rank in range(self.num_replicas) for batch in batches[rank :: self.num_replicas] for i in batch]

    def __len__(self) -> int:
        total = len(self.batch_sampler)
        if self.pad:
            return -(-total // self.num_replicas)
        return len(range(self.rank, total, self.num_replicas))
