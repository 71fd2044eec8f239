"""What the report script of every domain shares: ``python -m kd.<domain>.scripts.report --runs RUN_DIR...
[--out DIR]`` reads the finished run folders below the ``--runs`` paths and writes its tables and plots into a
folder of its own.

```python
def main(argv=None):
    args = report_parser("Run folders -> tables over seeds", "rl").parse_args(argv)
    records = [json.loads(p.read_text()) for p in metrics_files(args.runs)]  # the domain's own reading
    exit_if_dry_run(args.dry_run, {...})                                    # --dry-run stops here
    out = report_folder(args, "rl")
```
"""
from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence

from kd.common.utils.cli import common_parser
from kd.common.utils.config import flatten
from kd.common.utils.errors import MissingPathError
from kd.common.utils.run_folder import RunFolder, run_name

# The common flags a report reads: --runs-dir (where its folder goes without --out) and --dry-run; it reads no config,
# so --config, --device, --seed, --resume and key=value overrides are refused in one line (common_parser's takes).
REPORT_FLAGS = ("runs_dir", "dry_run")


def report_parser(description: str, domain: str) -> argparse.ArgumentParser:
    """:func:`~kd.common.utils.cli.common_parser` taking :data:`REPORT_FLAGS`, with ``--runs`` (one run folder or
    more, searched recursively) and ``--out`` (the report's folder; default: a new run folder
    ``<domain>-report-<stamp>`` under ``--runs-dir``, :func:`report_folder`)."""
    parser = common_parser(description, takes=REPORT_FLAGS)
    parser.add_argument("--runs", nargs="+", required=True, help="run folders (searched recursively)")
    parser.add_argument("--out", default=None,
                        help=f"output folder (default: a new run folder {domain}-report-<stamp>)")
    return parser


def run_settings(config: dict, not_settings: Sequence[str]) -> dict:
    """What a run trained with: its ``config`` (the run folder's config.yaml), flattened, without the keys
    ``not_settings`` names (a key, or a section ending in '.': the seed, this machine's paths, speed settings). Runs
    of one row that differ here (another learning rate, teacher or method setting) are not seeds of one mean:
    :func:`row_label`."""
    return {k: v for k, v in flatten(config).items()
            if not any(k == n or (n.endswith(".") and k.startswith(n)) for n in not_settings)}


def row_label(label: str, settings: dict, variants: Sequence[dict]) -> str:
    """``label``, followed by the settings that differ (``(student.lr=0.5)``) when runs of that label ran with more
    than one (``variants``: the :func:`run_settings` of each). A setting of the method the label names is written
    without its section: ``small_bert + tinybert (hidden_weight=0.1)``, not ``methods.tinybert.hidden_weight=0.1``."""
    keys = set().union(settings, *variants)
    differing = sorted(k for k in keys if any(v.get(k) != settings.get(k) for v in variants))
    named = set(re.findall(r"\w+", label))

    def short(key: str) -> str:
        section, _, rest = key.partition(".")
        method, _, setting = rest.partition(".")
        return setting if section == "methods" and method in named and setting else key

    return label if not differing else f"{label} ({', '.join(f'{short(k)}={settings.get(k)}' for k in differing)})"


def rows_by_settings(runs: Iterable[tuple[tuple, dict, Any]]) -> dict[tuple, list]:
    """``(key, settings, run)`` triples -> ``{row: [run, ...]}``, rows and runs in first-seen order: the runs of one
    ``key`` (a tuple ending in its label) that ran with one :func:`run_settings` make a row; where they ran with
    several, each set is a row of its own, its label followed by what differs (:func:`row_label`), so runs of another
    learning rate or teacher are never averaged as seeds."""
    runs = list(runs)
    variants: dict[tuple, list[dict]] = {}
    for key, settings, _ in runs:
        known = variants.setdefault(key, [])
        if settings not in known:
            known.append(settings)
    rows: dict[tuple, list] = {}
    for key, settings, run in runs:
        rows.setdefault((*key[:-1], row_label(key[-1], settings, variants[key])), []).append(run)
    return rows


def seeds_once(rows: dict[tuple, list], seed: Callable[[Any], Hashable | None],
               folder: Callable[[Any], str]) -> dict[tuple, list]:
    """``rows`` (:func:`rows_by_settings`) with each seed counted once per row: a run whose ``seed(run)`` an earlier
    run of its row has (the same settings and seed twice, e.g. a run repeated) is left out, and a line names the
    folder counted and the one left out (``folder(run)``). The first run found is counted: the order of
    :func:`metrics_files`, path by path and sorted within each. Runs whose seed is None are all counted."""
    counted: dict[tuple, list] = {}
    for row, runs in rows.items():
        kept = counted[row] = []
        for run in runs:
            twin = next((k for k in kept if seed(run) is not None and seed(k) == seed(run)), None)
            if twin is None:
                kept.append(run)
            else:
                print(f"report: '{' / '.join(map(str, row))}' has seed {seed(run)} twice: {folder(twin)} counted, "
                      f"{folder(run)} left out")
    return counted


def metrics_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every ``metrics.json`` below each of ``paths``, path by path, sorted within each; a path that does not exist is
    a :class:`MissingPathError`."""
    for path in map(Path, paths):
        if not path.exists():
            raise MissingPathError(f"run folder '{path}' does not exist")
        yield from sorted(path.rglob("metrics.json"))


def report_folder(args: argparse.Namespace, domain: str) -> RunFolder:
    """The folder a report writes into: ``--out`` (created if missing), else a new run folder
    ``<runs-dir>/<domain>-report-<stamp>``; neither gets TensorBoard events."""
    if args.out:
        return RunFolder(args.out, tensorboard=False)
    return RunFolder.create(run_name(domain, None, "report"), args.runs_dir, tensorboard=False)


def spread(values: Sequence[float]) -> float:
    """The spread of a result over runs (seeds), as every table and plot of this repository gives it: the sample
    standard deviation, sqrt(sum((x - mean)^2) / (n - 1)); 0 for a single value (drawn as no whisker or band)."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def mean_spread(values: Sequence[float], fmt: str = "{:.2f}", sign: str = "±") -> str:
    """A result over runs (seeds) as every table and plot of this repository prints it: ``mean ± std``, both
    formatted with ``fmt`` and ``sign`` between them (the std: :func:`spread`), or the mean alone for a single run,
    whose std is no spread (``± 0.00`` would read as one)."""
    mean = fmt.format(statistics.fmean(values))
    return f"{mean} {sign} {fmt.format(spread(values))}" if len(values) > 1 else mean
