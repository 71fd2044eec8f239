"""A name -> constructor registry (timm style), so configs select models, data sets and methods by name.

Besides single entries, a registry can hold *families*: ``register_family("torchvision", resolve)`` makes
every name ``torchvision:<model>`` valid, resolved by ``resolve("<model>")``, so the models of another
library are selectable by name without listing each of them here.
"""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from kd.common.utils.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to callables. ``get`` on an unknown name raises one clear line listing the choices."""

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
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(sorted(self._entries))}{families}"
            )
        return self._entries[name]

    def build(self, name: str, **kwargs) -> T:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        prefix, colon, _ = name.partition(":")
        return name in self._entries or bool(colon and prefix in self._families)
