"""Checks on the folders a run will write outside its run folder (a shared cache), made before the run folder is.

``require_writable_folder(folder, key)`` is the one check every domain calls for such a config key
(``distill.cache_dir``): a folder that cannot be written is one ``error: ...`` line and exit code 2 before any
work, rather than a traceback after the teacher has labelled the data.
"""
from __future__ import annotations

import os
from pathlib import Path

from kd.common.utils.errors import UnwritablePathError


def require_writable_folder(folder: str | Path, key: str) -> Path:
    """``folder`` (made later, when first written) if it can be: it is a folder, or its nearest existing parent
    is a folder, that this process can write in. Otherwise an :class:`UnwritablePathError` naming the config
    ``key`` that set it: a file in the way, or a folder without write permission (a read-only mount)."""
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UnwritablePathError(f"{key}: cannot write the folder {folder}: {existing} is a file, not a folder; "
                                  f"set {key} to a folder, or move the file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UnwritablePathError(f"{key}: cannot write the folder {folder}: {existing} is not writable; set {key} "
                                  "to a folder you can write in")
    return folder
