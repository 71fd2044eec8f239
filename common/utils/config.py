"""YAML presets with ``key.sub=value`` command-line overrides.

A preset is a path or the name of a file in the domain's ``configs/`` (:func:`resolve_preset`). An override must
name an existing key (a near miss is an error naming the key meant: ``did you mean 'student.epochs'?``); its value is
parsed as YAML, so ``student.lr=0.1`` is a float and ``data.name=cifar10`` a string. Prefix a key with ``+`` to add
one the preset lacks. A domain names its *open* sections, mappings whose keys are free (an architecture's extra
arguments, loss-term weights): a key under one needs no ``+`` (``distill.weights.mse=0.5``). Loaded ``strict``
over a domain's defaults, a preset's keys are checked the same way, so a typo in a file of one's own is refused too.
A key a domain has renamed is refused with its new name, in a preset as on the command line.
Scalars are read by YAML 1.2's core schema in files and overrides alike, where PyYAML follows YAML 1.1: ``1e-3``
and ``1e6`` are numbers (1.1: strings), ``010`` is ten (1.1: eight), ``yes``/``no``/``on``/``off`` are strings (1.1:
booleans; ``true``/``false`` are the booleans), ``1:30`` is a string (1.1: ninety) and ``2026-12-03`` too (1.1: a date).
"""
from __future__ import annotations

import copy
import difflib
import fnmatch
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from kd.common.utils.errors import ConfigError, MissingPathError


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` resolving plain scalars by YAML 1.2's core schema (its section 10.3.2) instead of 1.1's."""


# YAML 1.1's resolvers of these tags go (1.2 has no timestamps, nor the "=" value key); null and merge keys stay.
_RESOLVED_OTHERWISE = {f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float", "timestamp", "value")}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _RESOLVED_OTHERWISE]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    """A core-schema integer: decimal (leading zeros kept decimal), ``0o`` octal or ``0x`` hexadecimal."""
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_yaml(text: str) -> Any:
    """YAML ``text`` parsed safely, its plain scalars by YAML 1.2's core schema."""
    return yaml.load(text, Loader=_Loader)


# The most names the "known:" list of an unknown key shows; the rest are counted, and the file listing them named.
MAX_LISTED = 12


def did_you_mean(name: str, known: Iterable[str], listed_in: str | Path | None = None,
                 homes: Mapping[str, str] | None = None) -> str:
    """``"; did you mean 'x'?"`` for the known name meant by ``name``, else ``"; known: a, b, ..."``: ``name``'s
    siblings (:func:`siblings`); past MAX_LISTED of them, the first ones and ``... (N more; see <listed_in>)``,
    ``listed_in`` being the file that lists every key.

    The name meant, by the last part of a dotted key (its leaf) first: a key of ``name``'s own section whose leaf is
    close to it (``student.epoch`` -> ``student.epochs``), else a key of another section with the same leaf
    (``teacher.lr`` -> ``student.lr``), else one with a close leaf, else the closest whole key. Among several, one of
    the home section of ``name``'s comes first (``homes``: a section -> the section that holds its settings, as
    NLP's ``{"distill": "student"}``: the student's epochs, once ``distill.epochs``, are ``student.epochs``), then
    the closest whole key."""
    known = sorted(known)
    section, _, leaf = name.rpartition(".")
    home = (homes or {}).get(section)
    close_leaves = set(difflib.get_close_matches(leaf, {k.rpartition(".")[2] for k in known}, n=3, cutoff=0.75))
    split = [k.rpartition(".") for k in known]
    for candidates in ([s + dot + kleaf for s, dot, kleaf in split if s == section and kleaf in close_leaves],
                       [s + dot + kleaf for s, dot, kleaf in split if kleaf == leaf],
                       [s + dot + kleaf for s, dot, kleaf in split if kleaf in close_leaves],
                       difflib.get_close_matches(name, known, n=1, cutoff=0.75)):
        if candidates:
            best = min(candidates, key=lambda k: (k.rpartition(".")[0] != home,
                                                   -difflib.SequenceMatcher(None, name, k).ratio(), k))
            return f"; did you mean '{best}'?"
    names = siblings(name, known)
    if len(names) <= MAX_LISTED:
        return f"; known: {', '.join(names)}"
    see = f"; see {shown_path(listed_in)}" if listed_in is not None else ""
    return f"; known: {', '.join(names[:MAX_LISTED])}, ... ({len(names) - MAX_LISTED} more{see})"


def siblings(name: str, known: Iterable[str]) -> list[str]:
    """The known names one level under ``name``'s section, or under the nearest enclosing section that has any (the
    top level at last); a subsection among them is shown once, as ``section.*``: ``student.momentum`` among
    ``student.lr, student.arch.hidden, student.arch.activation`` -> ``student.arch.*, student.lr``."""
    parts = name.split(".")
    for depth in range(len(parts) - 1, -1, -1):
        prefix = "".join(f"{part}." for part in parts[:depth])
        rests = [key[len(prefix):] for key in known if key.startswith(prefix)]
        if rests:
            return sorted({prefix + (rest.split(".", 1)[0] + ".*" if "." in rest else rest) for rest in rests})
    return []


def shown_path(path: str | Path) -> str:
    """``path`` as a message shows it: relative to the working directory when it lies under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def is_whole_number(value: Any) -> bool:
    """Whether a config value is a whole number: an int and not a bool (YAML's true and false are ints to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def subset_size(section: dict, key: str, section_name: str = "data") -> int | None:
    """``section[key]``, the size of a subset of a data split: a whole number >= 1, or None (null: all of it); anything
    else (0, a negative number, a fraction) is a ConfigError."""
    value = section.get(key)
    if value is not None and (not is_whole_number(value) or value < 1):
        raise ConfigError(f"{section_name}.{key} must be a whole number of examples >= 1, or null for all of them, "
                          f"not {value!r}")
    return value


def resolve_preset(preset: str | Path | None, config_dir: Path) -> Path | None:
    """A preset: a YAML path, or the name of a file in ``config_dir`` (with or without ``.yaml``); None stays None."""
    if preset is None:
        return None
    for candidate in (Path(preset), config_dir / preset, config_dir / f"{preset}.yaml"):
        if candidate.is_file():
            return candidate
    names = sorted(p.stem for p in config_dir.glob("*.yaml") if p.stem != "default")
    close = difflib.get_close_matches(Path(preset).stem, names, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise MissingPathError(f"config '{preset}' not found; {hint}pass a YAML path or one of: {', '.join(names)}")


def load_yaml(path: str | Path) -> dict:
    """The mapping a YAML file holds (empty: ``{}``); a file that is missing, not YAML or not a mapping is a one-line
    user error naming it (and, for a syntax error, its line)."""
    path = Path(path)
    if not path.is_file():
        raise MissingPathError(f"config '{path}' does not exist")
    try:
        data = parse_yaml(path.read_text()) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"config '{path}' is not a text file; pass a YAML file of key: value lines") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}: {err.problem})" if mark is not None else ""
        raise ConfigError(f"config '{path}' is not YAML{where}; pass a YAML file of key: value lines") from None
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


def refuse_renamed(keys: Iterable[str], renamed: Mapping[str, str], where: str = "") -> None:
    """A ConfigError for the first of ``keys`` that is (or lies under) an old name in ``renamed`` (old -> new; ``*`` in
    an old name is a wildcard, as in ``methods.*.kwargs``)."""
    for key in keys:
        for old, new in renamed.items():
            if fnmatch.fnmatchcase(key, old) or fnmatch.fnmatchcase(key, old + ".*"):
                raise ConfigError(f"config key '{key}'{where} was renamed to {new}")


def refuse_teacher_checkpoint(checkpoint: str | None, read_by: tuple[str, ...], trains_from: str) -> None:
    """A ConfigError when a train_teacher script, which trains its teacher, is given ``teacher.checkpoint`` (a trained
    teacher, which it would ignore), in the same words in every domain: ``read_by``, the scripts of the domain that
    read that key (``("distill",)``); ``trains_from``, where train_teacher's teacher comes from instead
    (``"from teacher.arch"``)."""
    if checkpoint:
        readers = " and ".join(read_by) + (" reads" if len(read_by) == 1 else " read")
        raise ConfigError(f"teacher.checkpoint is the trained teacher that {readers}; train_teacher trains one "
                          f"{trains_from}: drop teacher.checkpoint")


def in_open_section(key: str, open_sections: Iterable[str]) -> bool:
    """Whether ``key`` lies under one of ``open_sections`` (patterns such as ``*.kwargs``, ``methods.*.weights``), at
    any depth (``student.config.rope_scaling.factor`` lies under ``student.config``)."""
    parts = key.split(".")
    sections = [".".join(parts[:i]) for i in range(1, len(parts))]
    return any(fnmatch.fnmatchcase(section, pattern) for section in sections for pattern in open_sections)


def refuse_unknown(keys: Iterable[str], known: Mapping[str, Any], open_sections: Iterable[str] = (),
                   where: str = "", listed_in: str | Path | None = None,
                   homes: Mapping[str, str] | None = None) -> None:
    """A ConfigError naming the key meant (:func:`did_you_mean`; ``listed_in``: the file listing every key; ``homes``:
    where a section's settings live) for the first of ``keys`` that is neither a key of ``known`` (a
    :func:`flatten`-ed config) nor a section of some, nor under one of ``open_sections``; ``where`` follows the key
    in the message (`` in mine.yaml``)."""
    open_sections = tuple(open_sections)
    for key in keys:
        if key not in known and not any(k.startswith(key + ".") for k in known) \
                and not in_open_section(key, open_sections):
            raise ConfigError(f"unknown config key '{key}'{where}{did_you_mean(key, known, listed_in, homes)}")


def refuse_not_boolean(values: Mapping[str, Any], known: Mapping[str, Any], prefix: str = "",
                       where: str = "") -> None:
    """A ConfigError for the first of ``values`` (flat keys) whose key is true or false in ``known`` but whose value
    is not: ``yes`` or ``off`` is a word in YAML 1.2, and a word is truthy. ``prefix`` and ``where`` frame the key."""
    for key, value in values.items():
        if isinstance(known.get(key), bool) and not isinstance(value, bool):
            raise ConfigError(f"{prefix}{key} is true or false, not {value!r}{where}")


def apply_overrides(config: dict, overrides: Iterable[str], open_sections: Iterable[str] = (),
                    renamed: Mapping[str, str] | None = None, listed_in: str | Path | None = None,
                    homes: Mapping[str, str] | None = None) -> dict:
    """Return a copy of ``config`` with each ``key.sub=value`` (or ``+new.key=value``) applied; a key under one of
    ``open_sections`` may be new without the ``+``, and an old name in ``renamed`` is refused with its new one; an
    unknown key's message names ``listed_in`` (the file listing every key) when its section is too long to list, and
    the key meant by ``homes`` (:func:`did_you_mean`). A key that is true or false takes true or false only
    (``yes``/``off`` are strings: see the module's docstring)."""
    config = copy.deepcopy(config)
    known = flatten(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like key.sub=value")
        key, raw = item.split("=", 1)
        adding = key.startswith("+")
        key = key.lstrip("+")
        refuse_renamed([key], renamed or {})
        if not adding:
            refuse_unknown([key], known, open_sections, listed_in=listed_in, homes=homes)
        try:
            value = parse_yaml(raw) if raw != "" else None
        except yaml.YAMLError as err:
            problem = str(err).splitlines()[0]
            raise ConfigError(f"override '{item}': its value is not YAML ({problem}); quote it, e.g. "
                              f"{key}='\"{raw}\"'") from None
        refuse_not_boolean({key: value}, known, f"override '{item}': ")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config key '{part}' in '{key}' is a value, not a section")
        node[leaf] = value
    return config


def saved_config(run_dir: str | Path) -> Path:
    """The ``config.yaml`` of the run folder ``run_dir``; a folder without one is a one-line user error."""
    saved = Path(run_dir) / "config.yaml"
    if not saved.is_file():
        raise MissingPathError(f"--resume {run_dir}: no config.yaml there; pass a run folder a script created")
    return saved


def load_run_config(run_dir: str | Path, overrides: Iterable[str] = (), fixed: Iterable[str] = (),
                    open_sections: Iterable[str] = (), renamed: Mapping[str, str] | None = None,
                    homes: Mapping[str, str] | None = None) -> dict:
    """The ``config.yaml`` a script saved in its run folder (what ``--resume RUN_DIR`` continues), with
    ``overrides`` applied; a folder without one is a one-line user error.

    A resumed run applies the settings it is given (learning rates, epochs, ...), but some cannot change
    half-way: the architectures its checkpoints hold, the data set, the seed. ``fixed`` names those keys
    (a section name covers every key in it); an override that changes one is refused in one line, before
    anything in the run folder is touched. ``open_sections``, ``renamed`` and ``homes``: as in :func:`apply_overrides`.
    """
    saved = saved_config(run_dir)
    before = load_yaml(saved)
    refuse_renamed(flatten(before), renamed or {}, where=f" in {saved} (a run of an earlier version)")
    after = apply_overrides(before, overrides, open_sections, renamed, listed_in=saved, homes=homes)
    old, new = flatten(before), flatten(after)
    # the deepest keys first: a key set in a section saved empty is named itself, not as the section ({} -> None)
    for key in sorted(set(old) | set(new), key=lambda k: (-k.count("."), k)):
        if old.get(key) != new.get(key) and any(key == f or key.startswith(f + ".") for f in fixed):
            raise resume_cannot_change(key, old.get(key), new.get(key))
    return after


def resume_cannot_change(key: str, saved: Any, given: Any, drop: str = "that override") -> ConfigError:
    """The one line refusing a ``--resume`` that changes ``key`` from its ``saved`` value to ``given``; ``drop``: what
    the user should leave out (``--seed 7`` for the flag)."""
    return ConfigError(f"--resume cannot change {key} ({saved!r} -> {given!r}): the run's checkpoints were made with "
                       f"the saved value; drop {drop}, or start a new run")


def load_config(path: str | Path | None, overrides: Iterable[str] = (), defaults: dict | None = None,
                config_dir: Path | None = None, open_sections: Iterable[str] = (),
                renamed: Mapping[str, str] | None = None, strict: bool = False,
                defaults_file: str | Path | None = None, homes: Mapping[str, str] | None = None) -> dict:
    """``defaults`` (a dict) updated by the preset at ``path`` (with ``config_dir``: a path or a preset name,
    :func:`resolve_preset`), then by the overrides (``open_sections``, ``renamed``, ``homes``: see
    :func:`apply_overrides`; an old name in the preset is refused too). With ``strict``, every key of the preset is a
    key of ``defaults`` (or lies under an open section), checked as an override's is: a near miss in a file of one's
    own is refused naming the file and the key meant, not merged in unread, and a word for a true-or-false key too.
    ``defaults_file``, the file ``defaults`` come from, is named when an unknown key's section has too many keys to
    list."""
    config = copy.deepcopy(defaults or {})
    if config_dir is not None:
        path = resolve_preset(path, config_dir)
    if path is not None:
        preset = load_yaml(path)
        refuse_renamed(flatten(preset), renamed or {}, where=f" in {path}")
        if strict:
            refuse_unknown(flatten(preset), flatten(config), open_sections, where=f" in {path}",
                           listed_in=defaults_file, homes=homes)
            refuse_not_boolean(flatten(preset), flatten(config), where=f" in {path}")
        config = merge(config, preset)
    return apply_overrides(config, overrides, open_sections, renamed, listed_in=defaults_file, homes=homes)


def merge(base: dict, update: dict) -> dict:
    """Recursive dict merge: ``update`` wins, nested sections are merged key by key."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that also quotes a string YAML 1.2 would read as another type (``'1e5'``, ``'0o17'``), so
    what it writes reads back the same by :func:`parse_yaml` and by YAML 1.1 readers (``yaml.safe_load``) alike."""


_Dumper.yaml_implicit_resolvers = {
    first: yaml.SafeDumper.yaml_implicit_resolvers.get(first, []) + _Loader.yaml_implicit_resolvers.get(first, [])
    for first in {*yaml.SafeDumper.yaml_implicit_resolvers, *_Loader.yaml_implicit_resolvers}}


def to_yaml(data: dict) -> str:
    """``data`` as YAML text, keys in their order (what config.yaml holds and ``--dry-run`` prints)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)


def save_yaml(data: dict, path: str | Path) -> None:
    Path(path).write_text(to_yaml(data))


def dataclass_from_dict(cls, values: dict, what: str):
    """Build the dataclass ``cls`` from a config section; a key it lacks is a one-line ConfigError.

    ``what`` names the section in the message, e.g.
    ``unknown PPO setting 'total_step'; did you mean 'total_steps'?``.
    """
    from dataclasses import fields

    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {what} setting '{unknown[0]}'{did_you_mean(unknown[0], known)}")
    return cls(**values)
