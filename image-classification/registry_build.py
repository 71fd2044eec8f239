"""Building a registry entry with arguments from a config: a wrong argument name is a one-line ConfigError
(naming the arguments the entry does take), not a TypeError traceback from deep inside a constructor."""
from __future__ import annotations

import inspect
from typing import Any

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry


def check_arguments(registry: Registry, name: str, **kwargs: Any) -> None:
    """Raise UnknownNameError for an unknown ``name``, ConfigError if its constructor cannot take ``kwargs``."""
    fn = registry.get(name)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no introspectable signature: the call itself will complain
        return
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        accepted = ", ".join(p for p in signature.parameters if p not in ("self", "args", "kwargs"))
        raise ConfigError(f"{registry.kind} '{name}': {err}; it accepts: {accepted}") from None


def build_checked(registry: Registry, name: str, **kwargs: Any) -> Any:
    check_arguments(registry, name, **kwargs)
    return registry.get(name)(**kwargs)
