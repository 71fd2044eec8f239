"""Length bucketing: batches of similar lengths, so dynamic padding wastes little compute."""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Sampler

from kd.common.engine.sampler import ShardedBatchSampler
from kd.common.utils.distributed import shard_kwargs


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Shuffle, cut into pools of ``batch_size * pool_batches`` examples, sort each pool by length, cut into
    batches and shuffle the batches. The order is a pure function of (seed, epoch): call :meth:`set_epoch`."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, shuffle: bool = True,
                 pool_batches: int = 50):
        self.lengths, self.batch_size, self.seed = list(lengths), batch_size, seed
        self.shuffle, self.pool = shuffle, batch_size * pool_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self.lengths)
        order = torch.randperm(n, generator=g).tolist() if self.shuffle else list(range(n))
        batches = []
        for start in range(0, n, self.pool):
            pool = sorted(order[start:start + self.pool], key=lambda i: self.lengths[i])
            batches += [pool[i:i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)  # pools are whole multiples of batch_size


def bucketed_loader(items: Sequence, lengths: Sequence[int], batch_size: int, collate_fn, seed: int = 0,
                    shuffle: bool = True) -> DataLoader:
    """A loader over ``items`` batched by :class:`LengthBucketBatchSampler`, sharded over torch.distributed
    ranks by :class:`~kd.common.engine.ShardedBatchSampler` (one rank: every batch).

    Training loaders (``shuffle=True``) pad the last round so every rank takes as many steps; evaluation
    loaders (``shuffle=False``) do not, so each example is evaluated once, and
    :func:`~kd.common.engine.predict` puts the outputs back in the order of ``items``. Pass equal lengths
    for a plain shuffle without bucketing (the sort inside a pool is stable).
    """
    batches = LengthBucketBatchSampler(lengths, batch_size, seed=seed, shuffle=shuffle)
    return DataLoader(items, batch_sampler=ShardedBatchSampler(batches, pad=shuffle, **shard_kwargs()),
                      collate_fn=collate_fn)
