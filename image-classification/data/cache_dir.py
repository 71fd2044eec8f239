"""Where downloaded data sets live: ``data.root`` if given, else ``$KD_DATA``, else ``~/.cache/kd``."""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "KD_DATA"


def data_root(root: str | os.PathLike | None = None) -> Path:
    if root:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "kd"
