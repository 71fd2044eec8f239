"""The Hugging Face hub, asked once whether it can be reached: downloads with a one-line :class:`OfflineError`
that names the local option, and no minute of retries on a machine without network.

``transformers`` and ``datasets`` retry an unreachable hub with back-off (about 50 s for a model, 25 s for a
data set) and print a line per retry. :func:`hub_reachable` sends one HEAD request to the hub's endpoint per
process (``HF_HUB_OFFLINE=1`` answers it without asking); when it fails, lookups go straight to the local
cache (:func:`offline_lookups`), so a cached copy still loads and anything else fails at once.
"""
from __future__ import annotations

import contextlib
import functools
import urllib.error
import urllib.request
from typing import Iterator

from kd.common.utils.errors import OfflineError

PROBE_TIMEOUT_S = 5.0


@functools.lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """Whether the Hugging Face hub answers one HEAD request (any HTTP status counts); cached for the process."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        urllib.request.urlopen(urllib.request.Request(constants.ENDPOINT, method="HEAD"),
                               timeout=PROBE_TIMEOUT_S).close()
    except urllib.error.HTTPError:  # it answered, if only with an error status
        return True
    except (OSError, ValueError):  # no route, no name resolution, a timeout, a malformed endpoint
        return False
    return True


@contextlib.contextmanager
def offline_lookups() -> Iterator[None]:
    """Inside, ``datasets`` and ``huggingface_hub`` read their local cache only, as under ``HF_HUB_OFFLINE=1``
    (which they read once, at import: the flags are switched here for the block and restored after it)."""
    import datasets
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved


def load_hub_dataset(name: str, config: str | None, local_hint: str):
    """``datasets.load_dataset(name, config)`` (from the local cache alone when the hub cannot be reached); when
    it cannot be had, say which local file to pass."""
    import datasets

    label = f"{name}/{config}" if config else name
    args = (name, config) if config else (name,)
    try:
        if hub_reachable():
            return datasets.load_dataset(*args)
        with offline_lookups():
            return datasets.load_dataset(*args)
    except (ConnectionError, OSError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if not hub_reachable():
            reason = "the hub cannot be reached and the local cache has no copy"
        raise OfflineError(f"could not download '{label}' from the Hugging Face hub ({reason}); offline, "
                           f"{local_hint}") from None
