"""The config sections of a method registry, checked the same way in NLP's tasks and RL's distillation:
``method.name`` picks one registered method, ``methods.<name>`` holds its constructor's arguments (a near miss named,
an unknown method one line listing the choices), and switching ``method.name`` uses that method's own section, never
another's. (Vision checks its one method section in ``kd.vision.pipeline.method_settings``: every method's section is
in its default.yaml, so the loader already refuses an unknown one.)"""
from __future__ import annotations

import difflib
from typing import Iterable, Mapping

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry, check_arguments


def check_section(registry: Registry, what: str, name: str, settings: Mapping, key: str = "method.name",
                  supplied: Iterable[str] = ()) -> None:
    """A ConfigError for an unknown method ``name`` of ``registry`` (``key`` names where it was given; the line lists
    the ``what`` methods) or for a setting its constructor does not take (``word_kd`` ... ``did you mean
    'temperature'?``). ``supplied``: the arguments the task gives (``teacher``, ``student``), not the config."""
    if name not in registry:
        close = difflib.get_close_matches(name, registry.names(), n=1, cutoff=0.6)
        meant = f" (did you mean '{close[0]}'?)" if close else ""
        where = f"unknown {key} '{name}'" if key == "method.name" else f"{key}: no method is called '{name}'"
        raise ConfigError(f"{where}{meant}; the {what} methods are: {', '.join(registry.names())}")
    supplied = tuple(supplied)
    check_arguments(registry, name, supplied=supplied, **{s: None for s in supplied}, **settings)


def method_settings(cfg: dict) -> dict:
    """The arguments ``method.name`` is built with: its own section ``methods.<name>`` (none: its defaults)."""
    return dict((cfg.get("methods") or {}).get(cfg["method"]["name"]) or {})


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
