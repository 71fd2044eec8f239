"""Building a registry entry with arguments from a config: a wrong argument name is a one-line ConfigError
(naming the argument meant, or those the entry does take), not a TypeError traceback from deep inside a
constructor."""
from __future__ import annotations

import inspect
from typing import Any, Iterable

from kd.common.utils.config import did_you_mean
from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry


def check_arguments(registry: Registry, name: str, *, supplied: Iterable[str] = (), **kwargs: Any) -> None:
    """Raise UnknownNameError for an unknown ``name``, ConfigError if its constructor cannot take ``kwargs``.
    ``supplied``: the arguments the code gives (not the user's config), left out of the suggestions."""
    fn = registry.get(name)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no introspectable signature: the call itself will complain
        return
    parameters = signature.parameters
    accepted = [p for p, param in parameters.items()
                if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD) and p not in set(supplied)]
    if not any(param.kind == param.VAR_KEYWORD for param in parameters.values()):
        for key in kwargs:
            if key not in parameters:
                raise ConfigError(f"{registry.kind} '{name}' takes no argument '{key}'{did_you_mean(key, accepted)}")
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        raise ConfigError(f"{registry.kind} '{name}': {err}; it accepts: {', '.join(accepted)}") from None


def build_checked(registry: Registry, name: str, **kwargs: Any) -> Any:
    check_arguments(registry, name, **kwargs)
    return registry.get(name)(**kwargs)
