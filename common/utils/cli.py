"""Command-line plumbing shared by every script: common flags, ``--dry-run`` and one-line errors.

```python
def main(argv=None):
    args = common_parser("Distil a student").parse_args(argv)
    ...                                    # load and check the config, data and checkpoints
    exit_if_dry_run(args.dry_run, config)  # --dry-run stops here: prints the config, creates nothing
    run = RunFolder.create(...)

if __name__ == "__main__":
    main_entry(main)
```
"""
from __future__ import annotations

import argparse
import shlex
import sys
from typing import Callable, Iterable, Mapping

from kd.common.utils import distributed
from kd.common.utils.config import to_yaml
from kd.common.utils.errors import ConfigError, KDError


class IntermixedParser(argparse.ArgumentParser):
    """A parser whose ``key=value`` overrides may come before, between and after the flags
    (``teacher.checkpoint=T.pt --seed 2 distill.data=student``), as people type them. The common flags a script does
    not read and the flags of earlier versions (:func:`common_parser`'s ``takes`` and ``renamed``) are parsed, then
    refused in one line (a :class:`ConfigError`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unread: dict[str, str] = {}  # dest -> the common flag (or "key=value overrides") the script does not read
        self.renamed: dict[str, tuple[str, str]] = {}  # dest -> (flag of earlier versions, the config key it became)

    def parse_args(self, args=None, namespace=None):
        parsed = self.parse_intermixed_args(args, namespace)
        refuse_flags(self, parsed)
        return parsed


# The common flags (their ``dest``) of :func:`common_parser`; a script names those it reads in ``takes``.
COMMON_FLAGS = ("config", "device", "seed", "runs_dir", "resume", "dry_run", "overrides")
OVERRIDES = "key=value overrides"


# What each evaluate script reads, in every domain, as config keys: the model it scores and the teacher it compares
# with. The flags of earlier versions (vision's and RL's evaluate) are refused naming them (common_parser's renamed).
EVALUATE_FLAGS = {"--checkpoint": "evaluate.checkpoint", "--teacher": "teacher.checkpoint"}


def common_parser(description: str, takes: Iterable[str] = COMMON_FLAGS,
                  renamed: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """``--config PRESET``, ``--device``, ``--seed``, ``--runs-dir``, ``--resume RUN_DIR``, ``--dry-run`` and
    ``key=value`` overrides, in any order.

    ``takes``: the common flags the script reads, by ``dest`` (:data:`COMMON_FLAGS`, all by default; a report that
    reads no config takes ``("runs_dir", "dry_run")``). Each other one is still parsed, hidden from ``--help``, and
    refused in one line when given, with the options the script has: ``--config, --seed, --resume and key=value
    overrides are not read by this script: drop --config x --seed 3 ...; its options are --runs, --out, ...``.
    ``renamed``: flags of earlier versions -> the config key each became (``{"--teacher": "teacher.checkpoint"}``),
    refused in one line naming it: ``--teacher was renamed to the config key teacher.checkpoint: pass
    teacher.checkpoint=T.pt`` (a flag given twice: ``key=[A.pt,B.pt]``)."""
    takes = set(takes)
    unknown = takes - set(COMMON_FLAGS)
    if unknown:
        raise ValueError(f"common_parser: unknown common flags {sorted(unknown)}; they are {COMMON_FLAGS}")
    parser = IntermixedParser(description=description)

    def flag(dest: str, *names: str, help: str, **kwargs) -> None:
        if dest in takes:
            parser.add_argument(*names, help=help, **kwargs)
        else:  # parsed so that it can be refused in one line, not with argparse's usage message
            kwargs.pop("default", None)
            parser.add_argument(*names, help=argparse.SUPPRESS, default=None, **kwargs)
            parser.unread[dest] = names[0]

    flag("config", "--config", help="a preset: the name of a file in the domain's configs/, or a YAML path")
    flag("device", "--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    flag("seed", "--seed", type=int, default=None, help="the override seed=N; with --resume, only the run's own seed")
    flag("runs_dir", "--runs-dir", default="runs", help="where run folders are created")
    flag("resume", "--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    if "dry_run" in takes:
        add_dry_run_flag(parser)
    else:
        parser.add_argument("--dry-run", action="store_true", default=None, help=argparse.SUPPRESS)
        parser.unread["dry_run"] = "--dry-run"
    for old, key in (renamed or {}).items():
        dest = "renamed_" + old.lstrip("-").replace("-", "_")
        parser.add_argument(old, dest=dest, action="append", help=argparse.SUPPRESS)
        parser.renamed[dest] = (old, key)
    if "overrides" in takes:
        parser.add_argument("overrides", nargs="*", metavar="key.sub=value", help="config overrides")
    else:
        parser.add_argument("overrides", nargs="*", help=argparse.SUPPRESS)
        parser.unread["overrides"] = OVERRIDES
    return parser


def refuse_flags(parser: IntermixedParser, args: argparse.Namespace) -> None:
    """A ConfigError for a flag of earlier versions the script was given (:func:`common_parser`'s ``renamed``),
    else for the common flags it does not read (``takes``), all of them in one line with what the script takes."""
    for dest, (old, key) in parser.renamed.items():
        values = getattr(args, dest, None)
        if values:
            value = values[0] if len(values) == 1 else f"[{','.join(values)}]"
            raise ConfigError(f"{old} was renamed to the config key {key}, as in every domain: pass {key}={value}")
    given = [dest for dest in parser.unread if getattr(args, dest, None) not in (None, False, [])]
    if not given:
        return
    names = [parser.unread[dest] for dest in given]
    dropped = []
    for dest in given:
        value = getattr(args, dest)
        if dest == "overrides":
            dropped += [shlex.quote(item) for item in value]
        else:
            dropped.append(parser.unread[dest] if value is True else f"{parser.unread[dest]} {shlex.quote(str(value))}")
    listed = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
    options = [action.option_strings[-1] if action.option_strings else action.metavar or action.dest
               for action in parser._actions
               if action.help != argparse.SUPPRESS and "--help" not in action.option_strings]
    raise ConfigError(f"{listed} {'is' if len(names) == 1 else 'are'} not read by this script: drop "
                      f"{' '.join(dropped)}; its options are {', '.join(options)}")


def add_dry_run_flag(parser: argparse.ArgumentParser) -> None:
    """``--dry-run`` (``args.dry_run``), for a script with a parser of its own; see :func:`exit_if_dry_run`."""
    parser.add_argument("--dry-run", action="store_true",
                        help="check the config, data and checkpoints, print the resolved config and exit 0 without "
                             "creating anything")


DRY_RUN_HEADER = "# --dry-run: the resolved config"


def exit_if_dry_run(dry_run: bool, resolved: dict) -> None:
    """With ``--dry-run``: print ``resolved`` (the config a run would save, or a report's inputs) as YAML, say
    that the checks passed and nothing was created, and exit 0. A script calls it after every check of its
    config, data and checkpoints, just before it would create its run folder."""
    if not dry_run:
        return
    print(f"{DRY_RUN_HEADER}\n{to_yaml(resolved)}", end="")
    print("dry run: the config, data and checkpoints passed every check; nothing was created")
    raise SystemExit(0)


def main_entry(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> None:
    """Run ``main``; a :class:`KDError` prints ``error: <message>`` on one line and exits non-zero.

    Launched by ``torchrun`` (``WORLD_SIZE`` > 1), the process first joins the job's process group on
    the device ``--device`` names (see :mod:`kd.common.utils.distributed`), and leaves it at the end.
    """
    try:
        distributed.init_from_launcher(sys.argv[1:] if argv is None else argv)
        main(argv)
    except KDError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("interrupted: the last checkpoint is kept; continue with --resume RUN_DIR", file=sys.stderr)
        sys.exit(130)
    finally:
        distributed.close_distributed()
