"""The config of a script's run, loaded from its command line the same way in every domain.

A script's ``args`` (:func:`kd.common.utils.cli.common_parser`: ``--config``, ``--seed``, ``--resume`` and the
``key.sub=value`` overrides) give one config:

- a new run: the domain's defaults file (every key) < the preset (``--config``: a name in the domain's configs/ or a
  YAML path) < the overrides, every key of the preset checked against the defaults as an override's is
  (:func:`~kd.common.utils.config.load_config` ``strict``: a near miss is refused naming the key meant);
- ``--resume RUN_DIR``: the run's saved config.yaml < the overrides, an override of a ``fixed`` key refused
  (:func:`~kd.common.utils.config.load_run_config`); a key the defaults gained since the run was made takes its
  default.

``--seed N`` is the override ``seed=N``. On ``--resume`` it must be the run's own seed: another one is refused in one
line (``--resume cannot change seed (0 -> 7): ...; drop --seed 7, or start a new run``), before anything in the run
folder is touched; the same seed is accepted. ``--config`` with ``--resume`` is refused too: the run's config.yaml
is the resumed run's preset. A domain's loader calls :func:`load_script_config` and keeps only what is
its own (NLP's defaults, the section of its defaults file that the preset's ``task`` picks; vision's method
sections, RL's method checks).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable, Mapping

from kd.common.utils.config import (load_config, load_run_config, load_yaml, merge, resume_cannot_change,
                                    saved_config)
from kd.common.utils.errors import ConfigError


def seed_overrides(args: argparse.Namespace) -> list[str]:
    """``args.overrides``, with ``seed=N`` last for ``--seed N`` (so the flag wins over an override ``seed=M``)."""
    return list(args.overrides) + ([f"seed={args.seed}"] if args.seed is not None else [])


def refuse_seed_change(args: argparse.Namespace) -> None:
    """With ``--resume RUN_DIR --seed N``: a ConfigError unless N is the seed saved in the run's config.yaml."""
    if args.resume and args.seed is not None:
        saved = load_yaml(saved_config(args.resume)).get("seed")
        if saved != args.seed:
            raise resume_cannot_change("seed", saved, args.seed, drop=f"--seed {args.seed}")


def load_script_config(args: argparse.Namespace, defaults: dict | str | Path, config_dir: Path | None = None, *,
                       listed_in: str | Path | None = None, preset: str | Path | None = None,
                       open_sections: Iterable[str] = (), renamed: Mapping[str, str] | None = None,
                       fixed: Iterable[str] = (), homes: Mapping[str, str] | None = None) -> dict:
    """The config ``args`` ask for (see the module's docstring): ``--resume``'s saved config with the overrides (a
    change to a key of ``fixed`` or to the seed refused) over ``defaults``, else ``defaults`` < the preset
    (``--config``, or ``preset`` without it; a name in ``config_dir`` or a path) < the overrides; ``--seed N`` is
    ``seed=N``. ``open_sections`` (mappings whose keys are free), ``renamed`` (old keys refused with their new names,
    in a preset, an override and a saved config) and ``homes`` (where a section's settings live, for the key meant):
    as in :func:`kd.common.utils.config.apply_overrides`. ``defaults``: the defaults file, or its keys already read
    from ``listed_in`` (named in the message of an unknown key whose section has too many keys to list)."""
    if not isinstance(defaults, dict):
        defaults, listed_in = load_yaml(defaults), defaults
    if args.resume:
        if args.config:
            raise ConfigError(f"--config {args.config} is not read with --resume: the run continues from its own "
                              "config.yaml; drop --config (key=value overrides change what it may)")
        refuse_seed_change(args)
        saved = load_run_config(args.resume, seed_overrides(args), fixed=fixed, open_sections=open_sections,
                                renamed=renamed, homes=homes)
        return merge(defaults, saved)
    return load_config(args.config or preset, seed_overrides(args), defaults=defaults, config_dir=config_dir,
                       open_sections=open_sections, renamed=renamed, strict=True, defaults_file=listed_in,
                       homes=homes)
