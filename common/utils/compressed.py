"""The bytes of a data file that may be gzipped (``.gz``), with one line for a gzip file that is not whole."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from kd.common.utils.errors import UnreadableFileError


def read_maybe_gzipped(path: Path) -> bytes:
    """The bytes ``path`` holds, gunzipped when its name ends in ``.gz``. A gzip file cut short (a download that
    stopped), or not gzip at all (an error page saved under the file's name), is an :class:`UnreadableFileError`
    naming the file, not ``EOFError`` / ``BadGzipFile`` / ``zlib.error`` from the middle of a loader."""
    data = path.read_bytes()
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise UnreadableFileError(f"'{path}' is not a complete gzip file ({error}); download or compress it "
                                  "again") from None
