"""A name -> constructor registry (timm style), so configs select models, data sets and methods by name.

Besides single entries, a registry can hold *families*: ``register_family("torchvision", resolve)`` makes
every name ``torchvision:<model>`` valid, resolved by ``resolve("<model>")``, so the models of another
library are selectable by name without listing each of them here.

An entry is built with arguments from a config through :func:`build_checked`: a wrong argument name is a one-line
ConfigError (naming the argument meant, or those the entry does take), not a TypeError traceback from deep inside a
constructor; nor is a value of the wrong type for an argument annotated ``float``, ``int`` or ``bool``
(``methods.kd.temperature=abc``). :func:`section_options` picks from a config section (``data``) the arguments its
``name``'s entry takes, and refuses a key that only other entries read when the user set it.
"""
from __future__ import annotations

import difflib
import inspect
import types
import typing
from typing import Any, Callable, Generic, Iterable, TypeVar

from kd.common.utils.config import did_you_mean
from kd.common.utils.errors import ConfigError, UnknownNameError

T = TypeVar("T")


def meant(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the one of ``names`` closest to a mistyped ``name`` (difflib, cutoff 0.6), else
    ``""``: the hint of an unknown registry name and of an unknown ``method.name``."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Registry(Generic[T]):
    """Maps names to callables. ``get`` on an unknown name raises one clear line naming the close match, if any
    (``unknown model 'mpl' (did you mean 'mlp'?); choose one of: ...``), and listing the choices."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._families: dict[str, Callable[[str], Callable[..., T]]] = {}

    def register(self, name: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(fn: Callable[..., T]) -> Callable[..., T]:
            key = name or fn.__name__
            if key in self._entries:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
            self._entries[key] = fn
            return fn

        return decorator

    def register_family(self, prefix: str, resolve: Callable[[str], Callable[..., T]]) -> None:
        """Names ``prefix:rest`` resolve to ``resolve(rest)``, which raises UnknownNameError for a ``rest`` it
        does not know."""
        if prefix in self._families:
            raise ValueError(f"{self.kind} family '{prefix}:' is registered twice")
        self._families[prefix] = resolve

    def get(self, name: str) -> Callable[..., T]:
        prefix, colon, rest = name.partition(":")
        if colon and prefix in self._families:
            return self._families[prefix](rest)
        if name not in self._entries:
            families = "".join(f", {p}:<name>" for p in sorted(self._families))
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'{meant(name, self._entries)}; choose one of: "
                f"{', '.join(sorted(self._entries))}{families}"
            )
        return self._entries[name]

    def build(self, name: str, **kwargs) -> T:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        prefix, colon, _ = name.partition(":")
        return name in self._entries or bool(colon and prefix in self._families)


def keyword_parameters(fn: Callable) -> dict[str, inspect.Parameter]:
    """The parameters ``fn`` takes by name (``*args`` / ``**kwargs`` left out); {} without an introspectable
    signature."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {name: p for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


# What a scalar annotation asks for, in the words of an error message.
SCALAR_WORDS = {float: "a number", int: "a whole number", bool: "true or false"}


def scalar_types(annotation: Any) -> set[type] | None:
    """The types of an annotation made of ``float``, ``int``, ``bool`` and ``None`` alone (``float | None`` ->
    ``{float, NoneType}``); None for any other annotation, whose values are not checked here."""
    if annotation in SCALAR_WORDS:
        return {annotation}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = set(typing.get_args(annotation))
        if kinds <= {*SCALAR_WORDS, type(None)} and kinds & set(SCALAR_WORDS):
            return kinds
    return None


def fits(value: Any, kinds: set[type]) -> bool:
    """Whether ``value`` is one of ``kinds`` (:func:`scalar_types`): an int is a float too, a bool is no int."""
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int):
        return bool(kinds & {int, float})
    return isinstance(value, tuple(kinds))


def check_arguments(registry: Registry, name: str, *, supplied: Iterable[str] = (), section: str | None = None,
                    **kwargs: Any) -> None:
    """Raise UnknownNameError for an unknown ``name``, ConfigError if its constructor cannot take ``kwargs`` or if a
    value is not of its parameter's scalar type (:func:`scalar_types`; None is fine where it is the default), the
    value named by its config key when ``section`` (``methods.kd``) says where the arguments come from.
    ``supplied``: the arguments the code gives (not the user's config), left out of the suggestions and the type
    checks."""
    fn = registry.get(name)
    supplied = set(supplied)
    try:
        signature = inspect.signature(fn, eval_str=True)
    except (TypeError, ValueError, NameError):  # no introspectable signature: the call itself will complain
        return
    parameters = signature.parameters
    accepted = [p for p in keyword_parameters(fn) if p not in supplied]
    if not any(param.kind == param.VAR_KEYWORD for param in parameters.values()):
        for key in kwargs:
            if key not in parameters:
                raise ConfigError(f"{registry.kind} '{name}' takes no argument '{key}'{did_you_mean(key, accepted)}")
    try:
        signature.bind(**kwargs)
    except TypeError as err:
        raise ConfigError(f"{registry.kind} '{name}': {err}; it accepts: {', '.join(accepted)}") from None
    for key, value in kwargs.items():
        parameter = parameters.get(key)
        kinds = scalar_types(parameter.annotation) if parameter is not None and key not in supplied else None
        if kinds is None or (value is None and parameter.default is None) or fits(value, kinds):
            continue
        words = " or ".join([word for kind, word in SCALAR_WORDS.items() if kind in kinds]
                            + (["null"] if type(None) in kinds else []))
        where = f"{section}." if section else f"{registry.kind} '{name}': "
        raise ConfigError(f"{where}{key}={value!r} must be {words}")


def build_checked(registry: Registry, name: str, **kwargs: Any) -> Any:
    check_arguments(registry, name, **kwargs)
    return registry.get(name)(**kwargs)


def section_options(registry: Registry, section: dict, section_name: str) -> dict:
    """The arguments of the entry ``section["name"]`` from a config section: each parameter of that entry that the
    section holds (one it lacks keeps the entry's default). A key that other entries of the registry take but this
    one does not is refused in one line naming the key and the entry, unless it holds the default of the entries
    that take it (a preset lists every entry's keys at their defaults: only what the user set is refused). The
    section's other keys (subsets, lengths, tokenizers) are not the entries' and are left to their readers."""
    name = section["name"]
    own = keyword_parameters(registry.get(name))
    readers: dict[str, list[str]] = {}
    for other in registry.names():
        for key, parameter in keyword_parameters(registry.get(other)).items():
            default = None if parameter.default is inspect.Parameter.empty else parameter.default
            if key not in own and key in section and section[key] != default:
                readers.setdefault(key, []).append(other)
    for key, others in readers.items():
        takes = ", ".join(f"{section_name}.{k}" for k in own) or "none of the section's keys"
        choices = " or ".join([", ".join(others[:-1]), others[-1]] if len(others) > 1 else others)
        raise ConfigError(f"{section_name}.{key}={section[key]!r} is not read by {section_name}.name={name} (it "
                          f"takes {takes}); drop it, or use {section_name}.name={choices}, which "
                          f"read{'s' if len(others) == 1 else ''} it")
    return {key: section[key] for key in own if key in section}
