"""YAML presets with ``key.sub=value`` command-line overrides.

A preset is the complete list of keys an experiment has. An override must name an existing key
(a typo is an error listing the keys that do exist); its value is parsed as YAML, so ``train.lr=0.1``
is a float and ``data.name=cifar10`` a string. Prefix a key with ``+`` to add one the preset lacks.
Numbers in exponent notation are numbers in files and overrides alike (``1e-3``, ``1e6``: YAML 1.2, where
PyYAML's YAML 1.1 would read them as strings).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable

import yaml


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` and ``1e6`` (no dot) as floats."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def parse_yaml(text: str) -> Any:
    """YAML ``text`` parsed safely, exponent-notation numbers as floats."""
    return yaml.load(text, Loader=_Loader)

from kd.common.utils.errors import ConfigError, MissingPathError


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise MissingPathError(f"config '{path}' does not exist")
    with open(path) as f:
        data = parse_yaml(f.read()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config '{path}' must be a mapping of keys to values")
    return data


def flatten(config: dict, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def apply_overrides(config: dict, overrides: Iterable[str]) -> dict:
    """Return a copy of ``config`` with each ``key.sub=value`` (or ``+new.key=value``) applied."""
    config = copy.deepcopy(config)
    known = flatten(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like key.sub=value")
        key, raw = item.split("=", 1)
        adding = key.startswith("+")
        key = key.lstrip("+")
        if not adding and key not in known and not any(k.startswith(key + ".") for k in known):
            close = [k for k in known if k.split(".")[-1] == key.split(".")[-1]]
            hint = f"; did you mean {close[0]}?" if close else f"; known keys: {', '.join(sorted(known))}"
            raise ConfigError(f"unknown config key '{key}'{hint}")
        value = parse_yaml(raw) if raw != "" else None
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config key '{part}' in '{key}' is a value, not a section")
        node[leaf] = value
    return config


def load_run_config(run_dir: str | Path, overrides: Iterable[str] = (), fixed: Iterable[str] = ()) -> dict:
    """The ``config.yaml`` a script saved in its run folder (what ``--resume RUN_DIR`` continues), with
    ``overrides`` applied; a folder without one is a one-line user error.

    A resumed run applies the settings it is given (learning rates, epochs, ...), but some cannot change
    half-way: the architectures its checkpoints hold, the data set, the seed. ``fixed`` names those keys
    (a section name covers every key in it); an override that changes one is refused in one line, before
    anything in the run folder is touched.
    """
    saved = Path(run_dir) / "config.yaml"
    if not saved.is_file():
        raise MissingPathError(f"--resume {run_dir}: no config.yaml there; pass a run folder a script created")
    before = load_yaml(saved)
    after = apply_overrides(before, overrides)
    old, new = flatten(before), flatten(after)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key) and any(key == f or key.startswith(f + ".") for f in fixed):
            raise ConfigError(f"--resume cannot change {key} ({old.get(key)!r} -> {new.get(key)!r}): the run's "
                              "checkpoints were made with the saved value; drop that override, or start a new run")
    return after


def load_config(path: str | Path | None, overrides: Iterable[str] = (), defaults: dict | None = None) -> dict:
    """``defaults`` (a dict) updated by the preset at ``path``, then by the overrides."""
    config = copy.deepcopy(defaults or {})
    if path is not None:
        config = merge(config, load_yaml(path))
    return apply_overrides(config, overrides)


def merge(base: dict, update: dict) -> dict:
    """Recursive dict merge: ``update`` wins, nested sections are merged key by key."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def save_yaml(data: dict, path: str | Path) -> None:
    with open(path, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)


def dataclass_from_dict(cls, values: dict, what: str):
    """Build the dataclass ``cls`` from a config section; a key it lacks is a one-line ConfigError.

    ``what`` names the section in the message, e.g. ``unknown PPO setting(s) ['lrr']; known: ...``.
    """
    from dataclasses import fields

    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {what} setting(s) {unknown}; known: {', '.join(sorted(known))}")
    return cls(**values)
