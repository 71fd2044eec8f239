"""Any Hugging Face model by name: a local folder in the ``save_pretrained`` layout or a hub id.

``from_pretrained(AutoX, name, hint)`` reads a folder as it is (``local_files_only``); a hub id is downloaded
(or read from the local cache). The hub is asked once per process whether it answers
(:func:`~kd.nlp.data.hub.hub_reachable`); when it does not, only the local cache is read, so a mistyped or
uncached name fails at once -- with one :class:`OfflineError` line that ends with ``hint`` (what to pass
instead) -- rather than after a minute of retries. ``pretrained_model`` reads a model's weights in fp32, whatever
dtype they were saved in.
"""
from __future__ import annotations

from pathlib import Path

import torch

from kd.common.utils.errors import MissingPathError, OfflineError
from kd.nlp.data.hub import hub_reachable


def is_local_model(name: str) -> bool:
    """Whether ``name`` is an existing folder (read as a ``save_pretrained`` folder, never looked up on the hub)."""
    return Path(name).expanduser().is_dir()


def from_pretrained(factory, name: str, hint: str, **kwargs):
    """``factory.from_pretrained(name, **kwargs)`` for a folder or a hub id; a failure is one line ending in
    ``hint``."""
    local = is_local_model(name)
    source = str(Path(name).expanduser()) if local else name
    offline = not local and not hub_reachable()
    try:
        return factory.from_pretrained(source, local_files_only=local or offline, **kwargs)
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if local:
            raise MissingPathError(f"'{name}' is not a model folder in the save_pretrained layout ({first}); "
                                   f"{hint}") from None
        reason = "the hub cannot be reached and the local cache has no copy" if offline else first
        raise OfflineError(f"could not fetch '{name}' from the Hugging Face hub ({reason}); {hint}") from None


def pretrained_model(factory, name: str, hint: str, **kwargs):
    """:func:`from_pretrained` of a model (``AutoModel...``) with its weights in fp32, whatever dtype the checkpoint
    holds (transformers loads a bf16 or fp16 checkpoint as it was saved): training keeps fp32 weights, gradients and
    optimiser state and runs low precision through autocast only (``kd.common.utils.device.autocast``), so a
    checkpoint published in bf16 trains and scores as one published in fp32."""
    return from_pretrained(factory, name, hint, dtype=torch.float32, **kwargs)
