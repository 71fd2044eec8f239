"""User-facing errors.

Every mistake a user can make (unknown name, missing or unwritable path, mismatched checkpoint, offline download)
raises a subclass of :class:`KDError`. Scripts wrapped by :func:`kd.common.utils.cli.main_entry`
print its message as one line and exit non-zero instead of showing a traceback.
"""


class KDError(Exception):
    """A mistake in the user's input, reported as one line: what was wrong and what to do."""

    exit_code = 2


class UnknownNameError(KDError):
    """A data set, model, method or loss name that no registry knows."""


class MissingPathError(KDError):
    """A file or folder that does not exist or holds nothing usable."""


class CheckpointMismatchError(KDError):
    """A checkpoint that does not fit where it is used: another architecture, other classes, other data."""


class UnwritablePathError(KDError):
    """A folder the run must write (a cache) that it cannot: a file in the way, no write permission."""


class UnreadableFileError(KDError):
    """A file that exists but cannot be read: a truncated checkpoint, an image that does not decode."""


class ConfigError(KDError):
    """A config key that does not exist or a value of the wrong type."""


class OfflineError(KDError):
    """A download was needed but the machine cannot reach the hub."""


class NonFiniteLossError(KDError):
    """The loss became NaN or infinite; the run stops and keeps its last good checkpoint."""

    exit_code = 3
