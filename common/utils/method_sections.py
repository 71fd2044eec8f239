"""The config sections of a method registry, checked the same way in vision's pipeline, NLP's tasks and RL's
distillation: ``method.name`` picks one registered method, ``methods.<name>`` holds its constructor's arguments (a
near miss named, an unknown method one line listing the choices), and switching ``method.name`` uses that method's
own section, never another's. A *variant* (a row of vision's method table) is a method with its section changed by
a few values, ``{method: NAME, <argument>: value, ...}``, checked the same way."""
from __future__ import annotations

from typing import Iterable, Mapping

from kd.common.utils.config import merge
from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry, check_arguments, meant


def check_section(registry: Registry, what: str, name: str, settings: Mapping, key: str = "method.name",
                  supplied: Iterable[str] = ()) -> None:
    """A ConfigError for an unknown method ``name`` of ``registry`` (``key`` names where it was given; the line lists
    the ``what`` methods) or for a setting its constructor does not take (``word_kd`` ... ``did you mean
    'temperature'?``) or of the wrong type (``methods.kd.temperature='abc' must be a number``). ``supplied``: the
    arguments the task gives (``teacher``, ``student``), not the config."""
    if name not in registry:
        where = f"unknown {key} '{name}'" if key == "method.name" else f"{key}: no method is called '{name}'"
        raise ConfigError(f"{where}{meant(name, registry.names())}; the {what} methods are: "
                          f"{', '.join(registry.names())}")
    supplied = tuple(supplied)
    check_arguments(registry, name, supplied=supplied, section=f"methods.{name}", **{s: None for s in supplied},
                    **settings)


def method_settings(cfg: dict, name: str | None = None, **changes) -> dict:
    """The arguments method ``name`` (default ``method.name``) is built with: its own section ``methods.<name>``
    (none: its defaults), updated by ``changes`` (a nested section such as ``weights`` key by key)."""
    name = cfg["method"]["name"] if name is None else name
    return merge(dict((cfg.get("methods") or {}).get(name) or {}), changes)


def check_method_sections(cfg: dict, registry: Registry, what: str, supplied: Iterable[str] = ()) -> str:
    """``method.name`` given and a method of ``registry``; every section ``methods.<name>`` a known method's, its keys
    that constructor's arguments. Returns the method's name."""
    name = (cfg.get("method") or {}).get("name")
    if not name:
        raise ConfigError("pass method.name=NAME, one of: " + ", ".join(registry.names()))
    for section, settings in (cfg.get("methods") or {}).items():
        if settings is not None and not isinstance(settings, dict):
            raise ConfigError(f"methods.{section} must be a section of arguments, got {settings!r}")
        check_section(registry, what, section, settings or {}, key=f"methods.{section}", supplied=supplied)
    check_section(registry, what, name, method_settings(cfg), supplied=supplied)
    return name


def variant_settings(cfg: dict, registry: Registry, what: str, variant: Mapping | None, key: str,
                     supplied: Iterable[str] = ()) -> tuple[str, dict]:
    """``(method name, its arguments)`` of the variant ``{method: NAME, <argument>: value, ...}`` given at ``key``
    (``run.variants.simkd_kl``): NAME's section ``methods.<NAME>`` changed by those values, checked as
    :func:`check_section` checks a section (an argument the method does not take is named with ``key``)."""
    if not isinstance(variant, Mapping) or "method" not in variant:
        raise ConfigError(f"{key} needs its method: {{method: NAME, <argument>: value, ...}}, got {variant!r}")
    changes = dict(variant)
    name = changes.pop("method")
    if name not in registry:
        check_section(registry, what, name, {}, key=f"{key}.method")
    settings = method_settings(cfg, name, **changes)
    try:
        check_section(registry, what, name, settings, supplied=supplied)
    except ConfigError as err:
        raise ConfigError(f"{key}: {err}") from None
    return name, settings
