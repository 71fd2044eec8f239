"""Command-line plumbing shared by every script: common flags and one-line errors.

```python
def main(argv=None):
    args = common_parser("Distil a student").parse_args(argv)
    ...

if __name__ == "__main__":
    main_entry(main)
```
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from kd.common.utils import distributed
from kd.common.utils.errors import KDError


def common_parser(description: str) -> argparse.ArgumentParser:
    """``--config PRESET``, ``--device``, ``--seed``, ``--runs-dir``, ``--resume RUN_DIR`` and ``key=value`` overrides."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="YAML preset (see the domain's configs/)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    parser.add_argument("--seed", type=int, default=None, help="overrides the config's seed")
    parser.add_argument("--runs-dir", default="runs", help="where run folders are created")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    parser.add_argument("overrides", nargs="*", metavar="key.sub=value", help="config overrides")
    return parser


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
