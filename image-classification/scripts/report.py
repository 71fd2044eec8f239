"""Several run folders -> one markdown table (mean +- std over seeds) and a plot of accuracy vs parameters.

    python -m kd.vision.scripts.report --runs runs/cifar10-table-* [--out runs/report]

Every folder below the given paths that holds a ``metrics.json`` with a ``final`` record counts as one
run. Runs are grouped by their label (``final.label``, else the folder name without ``-seedN``), and each
row gives the method, the architecture, its parameters (of the deployed model), the number of seeds,
the last-epoch test accuracy (mean +- sample std over seeds), the epochs and the training images.
Writes ``report.md`` and ``accuracy_vs_params.png`` into ``--out`` and prints the table.
"""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Iterable, Sequence

from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.errors import MissingPathError
from kd.common.utils.plotting import plot_scatter
from kd.common.utils.run_folder import RunFolder

ACCURACY_KEYS = ("test_acc", "acc", "student_acc")


def collect_runs(paths: Iterable[str | Path]) -> list[dict]:
    """The ``final`` record of every run folder under ``paths`` (with ``folder`` and ``label`` filled in)."""
    records = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise MissingPathError(f"run folder '{path}' does not exist")
        for metrics in sorted(path.rglob("metrics.json")):
            final = json.loads(metrics.read_text()).get("final", {})
            accuracy = next((final[k] for k in ACCURACY_KEYS if k in final), None)
            if accuracy is None:
                continue
            label = final.get("label") or re.sub(r"-seed\d+$", "", metrics.parent.name)
            records.append({**final, "label": label, "accuracy": accuracy, "folder": str(metrics.parent)})
    return records


def summarise(records: Sequence[dict]) -> list[dict]:
    """One row per label, in first-seen order: mean and sample std of the accuracy over its runs."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["label"], []).append(record)
    rows = []
    for label, runs in groups.items():
        accs = [r["accuracy"] for r in runs]
        first = runs[0]
        rows.append({"label": label, "method": first.get("method", ""), "arch": first.get("arch", ""),
                     "params": first.get("params"), "seeds": len(runs), "mean": statistics.fmean(accs),
                     "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                     "epochs": first.get("epochs", ""), "train_images": first.get("train_images", "")})
    return rows


def markdown_table(records: Sequence[dict]) -> str:
    lines = ["| run | method | model | params | seeds | test acc. (%) mean +- std | epochs | train images |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in summarise(records):
        params = f"{row['params'] / 1e6:.2f}M" if row["params"] else ""
        lines.append(f"| {row['label']} | {row['method']} | {row['arch']} | {params} | {row['seeds']} | "
                     f"{row['mean']:.2f} +- {row['std']:.2f} | {row['epochs']} | {row['train_images']} |")
    return "\n".join(lines)


def accuracy_vs_params_plot(records: Sequence[dict], path: str | Path) -> Path | None:
    points = [(r["label"], r["params"], r["mean"]) for r in summarise(records) if r["params"]]
    if not points:
        return None
    return plot_scatter(points, path, xlabel="parameters (deployed model)", ylabel="test accuracy (%)",
                        title="accuracy vs parameters")


def main(argv=None):
    parser = common_parser("Run folders -> markdown table + accuracy-vs-parameters plot")
    parser.add_argument("--runs", nargs="+", required=True, help="run folders (searched recursively)")
    parser.add_argument("--out", default=None, help="output folder (default: a new run folder 'report')")
    args = parser.parse_args(argv)
    records = collect_runs(args.runs)
    if not records:
        raise MissingPathError(f"no finished runs (metrics.json with a final accuracy) under {args.runs}")
    out = RunFolder(args.out, tensorboard=False) if args.out else RunFolder.create("report", args.runs_dir,
                                                                                   tensorboard=False)
    table = markdown_table(records)
    out.write_summary(table + "\n")
    (out.path / "report.md").write_text(table + "\n")
    plot = accuracy_vs_params_plot(records, out.plots / "accuracy_vs_params.png")
    print(table)
    print(f"report: {out.path / 'report.md'}" + (f", plot: {plot}" if plot else ""))


if __name__ == "__main__":
    main_entry(main)
