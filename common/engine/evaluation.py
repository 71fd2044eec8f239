"""Collecting a model's outputs over a loader, for metrics computed on the whole data set at once.

Under torch.distributed a loader that shards the data set (its sampler, batch sampler or the loader
itself has ``num_replicas > 1``) gives each rank every W-th example (or batch); :func:`predict` gathers the
ranks' outputs back into the loader's order and drops the repeats the sampler padded the last round with, so
every rank computes the single-process metrics on exactly the N examples. A batch sampler that makes its own
batches (length buckets, :class:`~kd.common.engine.ShardedBatchSampler`) says through
``gathered_indices()`` which example each gathered row is, and the rows are put back in data-set order.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from kd.common.utils.device import autocast, move_to
from kd.common.metrics.text import perplexity
from kd.common.utils.distributed import all_gather_uneven, all_reduce_sum, gather_sharded


def _default_forward(model: nn.Module, batch: Any) -> Tensor:
    return model(batch[0])


def _default_target(batch: Any) -> Tensor:
    return batch[1]


@torch.inference_mode()
def predict(model: nn.Module, loader, device: torch.device,
            forward: Callable[[nn.Module, Any], Tensor] = _default_forward,
            target: Callable[[Any], Tensor] = _default_target,
            precision: str = "auto", num_samples: int | None = None) -> tuple[Tensor, Tensor]:
    """Return ``(logits, labels)`` over the whole loader, on the CPU, logits in float32.

    ``forward(model, batch)`` gives the logits of a batch (default ``model(batch[0])``) and
    ``target(batch)`` its labels (default ``batch[1]``). With a sharded loader under torch.distributed
    the result covers all ranks' shards; ``num_samples`` (default: the loader's ``dataset_size``, its
    sampler's ``n`` or ``len(loader.dataset)``) is the size the padded shards are cut back to.
    """
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for batch in loader:
        batch = move_to(batch, device)
        with autocast(device, precision):
            logits = forward(model, batch)
        all_logits.append(logits.float())
        all_labels.append(target(batch))
    model.train(was_training)
    logits, labels = torch.cat(all_logits), torch.cat(all_labels)
    gathered_indices = getattr(getattr(loader, "batch_sampler", None), "gathered_indices", None)
    if gathered_indices is not None:
        index = torch.as_tensor(gathered_indices(), dtype=torch.long)
        n = num_samples if num_samples is not None else _dataset_size(loader)
        logits, labels = _in_dataset_order(logits, index, n), _in_dataset_order(labels, index, n)
    elif _num_replicas(loader) > 1:
        n = num_samples if num_samples is not None else _dataset_size(loader)
        logits, labels = gather_sharded(logits, n), gather_sharded(labels, n)
    return logits.cpu(), labels.cpu()


@torch.inference_mode()
def loader_perplexity(model: nn.Module, loader, device: torch.device,
                      batch_nll: Callable[[nn.Module, Any], tuple[float, int]]) -> float:
    """exp(sum of token NLL / number of tokens) over the whole loader.

    ``batch_nll(model, batch)`` returns a batch's summed negative log-likelihood (nats) and its token
    count (see :func:`kd.common.metrics.text.token_nll`). With a loader sharded over torch.distributed
    ranks (without padded repeats, as evaluation loaders are) the sums are added over the ranks.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        nll, n = batch_nll(model, move_to(batch, device))
        total, count = total + nll, count + n
    model.train(was_training)
    total, count = all_reduce_sum(torch.tensor([total, count], dtype=torch.float64, device=device)).tolist()
    return perplexity(total, int(count))


def _in_dataset_order(local: Tensor, index: Tensor, n: int) -> Tensor:
    """All ranks' rows (concatenated in rank order, row j is example ``index[j]``) as an ``(n, ...)`` tensor."""
    rows = torch.cat(all_gather_uneven(local))
    out = rows.new_zeros((n, *rows.shape[1:]))
    out[index.to(rows.device)] = rows  # a padded repeat writes the same row twice
    return out


def _num_replicas(loader) -> int:
    """How many ranks the loader splits the data set over (1: every rank reads all of it)."""
    sampler, batch_sampler = getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)
    return max(getattr(loader, "num_replicas", 1), getattr(sampler, "num_replicas", 1),
               getattr(batch_sampler, "num_replicas", 1))


def _dataset_size(loader) -> int | None:
    """N before sharding: the loader's ``dataset_size``, its sampler's ``n``, or ``len(loader.dataset)``.

    (Not ``DistributedSampler.num_samples``: that is the per-rank count.)
    """
    for value in (getattr(loader, "dataset_size", None), getattr(getattr(loader, "sampler", None), "n", None)):
        if isinstance(value, int):
            return value
    dataset = getattr(loader, "dataset", None)
    return len(dataset) if dataset is not None else None
