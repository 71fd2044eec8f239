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
import sys
from typing import Callable

from kd.common.utils import distributed
from kd.common.utils.config import to_yaml
from kd.common.utils.errors import KDError


class IntermixedParser(argparse.ArgumentParser):
    """A parser whose ``key=value`` overrides may come before, between and after the flags
    (``teacher.checkpoint=T.pt --seed 2 distill.data=student``), as people type them."""

    def parse_args(self, args=None, namespace=None):
        return self.parse_intermixed_args(args, namespace)


def common_parser(description: str) -> argparse.ArgumentParser:
    """``--config PRESET``, ``--device``, ``--seed``, ``--runs-dir``, ``--resume RUN_DIR``, ``--dry-run`` and
    ``key=value`` overrides, in any order."""
    parser = IntermixedParser(description=description)
    parser.add_argument("--config", help="a preset: the name of a file in the domain's configs/, or a YAML path")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    parser.add_argument("--seed", type=int, default=None,
                        help="the override seed=N; with --resume, only the run's own seed")
    parser.add_argument("--runs-dir", default="runs", help="where run folders are created")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    add_dry_run_flag(parser)
    parser.add_argument("overrides", nargs="*", metavar="key.sub=value", help="config overrides")
    return parser


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
