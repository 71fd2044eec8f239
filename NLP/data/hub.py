"""Hugging Face ``datasets`` downloads, with a one-line :class:`OfflineError` that names the local option."""
from __future__ import annotations

from kd.common.utils.errors import OfflineError


def load_hub_dataset(name: str, config: str | None, local_hint: str):
    """``datasets.load_dataset(name, config)``; when the hub cannot be reached, say which local file to pass."""
    import datasets

    try:
        return datasets.load_dataset(name, config) if config else datasets.load_dataset(name)
    except (ConnectionError, OSError) as err:
        label = f"{name}/{config}" if config else name
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise OfflineError(f"could not download '{label}' from the Hugging Face hub ({reason}); "
                           f"offline, {local_hint}") from None
