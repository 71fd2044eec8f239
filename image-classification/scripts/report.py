"""Several run folders -> one markdown table (mean +- std over seeds) with plots of the spread and the trade-off.

    python -m kd.vision.scripts.report --runs runs/vision-cifar10-method_table-* [--out runs/report]

Every folder below the given paths that holds a ``metrics.json`` with a ``final`` record counts: a row of
method_table or lr_sweep (one model, one seed), or a run that scored several models (distill, train_teacher,
evaluate, compare: a record per model of its ``final.rows``; a compare row that is already a mean over several seeds
is left out, with a line saying so). Records are grouped by their label (``final.label``, else the folder name
without ``-seedN``; a model's row name) and by the settings they ran with (their ``config.yaml`` without the seed,
paths and speed settings): records of one label that ran with other settings (another learning rate, student or
method setting) are rows of their own, named by what differs, and a seed that a row has twice counts once (a line
names the folders left out; a compare run's students have the seed of ``compare.seeds`` they trained with, and a
teacher given as ``teacher.checkpoint`` its path: runs that read one teacher count it once). Each
row gives the method, the architecture, its parameters (of the deployed model), the number of seeds, the last-epoch
test accuracy (mean +- sample std over seeds; the mean alone for one seed), the epochs and the training images.
Writes into ``--out``: ``report.md`` (the table), ``plots/accuracy_by_run.png`` (a bar per row: mean, ± std
whisker, a dot per seed), ``plots/accuracy_vs_params.png``, ``plots/training_loss.png`` and, when the runs
evaluated more than once (``train.eval_every``), ``plots/test_accuracy.png`` (mean over seeds with a ± std
band), and ``summary.md``, the table with those plots embedded. Prints the table.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

from kd.common.utils.cli import exit_if_dry_run, main_entry
from kd.common.utils.config import load_yaml
from kd.common.utils.errors import MissingPathError
from kd.common.utils.plotting import Palette, figures_markdown, plot_bars, plot_curves, plot_tradeoff
from kd.common.utils.report import (mean_spread, metrics_files, report_folder, report_parser, rows_by_settings,
                                    run_settings, seeds_once)
from kd.common.utils.run_folder import RunFolder

ACCURACY_KEYS = ("test_acc", "acc", "student_acc")
# Config keys that do not make a row: the seed (rows are over seeds), where things are on this machine, how fast
# it ran, and which rows and seeds a table listed (method_table's run: section).
NOT_SETTINGS = ("seed", "label", "threads", "data.root", "data.num_workers", "data.in_memory", "data.eval_batch_size",
                "distill.cache_dir", "train.", "run.", "compare.", "evaluate.")


def collect_runs(paths: Iterable[str | Path]) -> list[dict]:
    """The records of every run folder under ``paths`` (with ``folder``, ``label``, ``accuracy`` and ``settings``
    filled in): a method_table row's ``final``, or one record per model of a run's ``final.rows``, whose ``seed`` is
    the one it trained with: a compare run's students (``final.students``) that of ``final.seeds`` (one: a row over
    several is left out), a teacher given as ``teacher.checkpoint`` (``final.given``) its path, every other model the
    config's."""
    records = []
    for metrics in metrics_files(paths):
        final = json.loads(metrics.read_text()).get("final", {})
        folder = metrics.parent
        config = load_yaml(folder / "config.yaml") if (folder / "config.yaml").is_file() else {}
        settings = run_settings(config, NOT_SETTINGS)
        accuracy = next((final[k] for k in ACCURACY_KEYS if k in final), None)
        if accuracy is not None:
            label = final.get("label") or re.sub(r"-seed\d+$", "", folder.name)
            records.append({**final, "label": label, "accuracy": accuracy, "folder": str(folder),
                            "settings": settings})
        rows = final.get("rows")  # (lr_sweep's is a list of its table's rows, not of models: not read)
        students = final.get("students", ())  # compare's rows trained with its final.seeds, not with the config's
        given = final.get("given", {})  # a teacher.checkpoint as given: its path, whatever seed the run had
        for name, row in (rows.items() if isinstance(rows, dict) else ()):
            if row.get("seeds", 1) > 1:
                print(f"report: left out '{name}' of {folder}: already a mean over {row['seeds']} seeds")
                continue
            seed = given[name] if name in given else final["seeds"][0] if name in students else config.get("seed")
            records.append({"label": name, "accuracy": row["acc"], "params": row.get("params"), "seed": seed,
                            "folder": str(folder), "settings": settings})
    return records


def group_runs(records: Sequence[dict]) -> dict[str, list[dict]]:
    """The records by row, in first-seen order: by label, and within a label by settings (the row named by what
    differs, :func:`~kd.common.utils.report.rows_by_settings`); a seed a row has twice counts once, the first folder
    found (a line names the folder left out: :func:`~kd.common.utils.report.seeds_once`)."""
    rows = rows_by_settings(((r["label"],), r["settings"], r) for r in records)
    return {label: runs for (label,), runs in seeds_once(rows, lambda r: r.get("seed"), lambda r: r["folder"]).items()}


def summarise(groups: dict[str, list[dict]]) -> list[dict]:
    """One row per group of :func:`group_runs`: its ``accuracy`` over its runs, ``mean +- std`` (the mean alone for
    one run: :func:`~kd.common.utils.report.mean_spread`)."""
    rows = []
    for label, runs in groups.items():
        first = runs[0]
        rows.append({"label": label, "method": first.get("method", ""), "arch": first.get("arch", ""),
                     "params": first.get("params"), "seeds": len(runs),
                     "accuracy": mean_spread([r["accuracy"] for r in runs], sign="+-"),
                     "epochs": first.get("epochs", ""), "train_images": first.get("train_images", "")})
    return rows


def runs_table(groups: dict[str, list[dict]]) -> str:
    """The markdown table of the runs of :func:`group_runs`, one row per group (:func:`summarise`); the table of
    models a script prints is :func:`kd.vision.report.model_metrics_table`."""
    lines = ["| run | method | model | params | seeds | test acc. (%) mean +- std | epochs | train images |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in summarise(groups):
        params = f"{row['params'] / 1e6:.2f}M" if row["params"] else ""
        lines.append(f"| {row['label']} | {row['method']} | {row['arch']} | {params} | {row['seeds']} | "
                     f"{row['accuracy']} | {row['epochs']} | {row['train_images']} |")
    return "\n".join(lines)


def table_figures(groups: dict[str, list[dict]], plots: Path) -> list[tuple[str, Path]]:
    """The table's plots in ``plots``, one colour per row of :func:`group_runs`: accuracy per row over its seeds,
    accuracy against parameters, and the learning curves of the runs (mean over seeds, ± std band)."""
    rows = summarise(groups)
    palette = Palette(groups)
    accuracy = {label: [r["accuracy"] for r in runs] for label, runs in groups.items()}
    figures = []
    path = plots / "accuracy_by_run.png"
    plot_bars(accuracy, path, xlabel="last-epoch test top-1 accuracy (%)", palette=palette, ceiling=100,
              title="test accuracy of each row of the table")
    figures.append(("Test accuracy per row: mean over seeds, ± std whisker, a dot per seed.", path))
    path = plots / "accuracy_vs_params.png"
    if plot_tradeoff(accuracy, {row["label"]: {"params": row["params"] or 0} for row in rows}, path,
                     ylabel="test top-1 accuracy (%)", cost_labels={"params": "parameters (deployed model)"},
                     title="accuracy against parameters", palette=palette):
        figures.append(("Accuracy against parameters (mean ± std over seeds).", path))
    histories = {r["folder"]: json.loads((Path(r["folder"]) / "metrics.json").read_text()).get("history", [])
                 for runs in groups.values() for r in runs}
    for key, name, ylabel in (("test_acc", "test_accuracy.png", "test top-1 accuracy (%)"),
                              ("loss", "training_loss.png", "training loss (mean over the epoch)")):
        series = {label: [{h["epoch"]: h[key] for h in histories[r["folder"]] if key in h} for r in runs]
                  for label, runs in groups.items()}
        if max(len(curve) for curves in series.values() for curve in curves) < 2:
            continue  # evaluated once, at the end: the bars show it
        path = plots / name
        plot_curves(series, path, xlabel="epoch", ylabel=ylabel, title=f"{ylabel.split(' (')[0]} per epoch",
                    palette=palette, integer_x=True)
        figures.append((f"{ylabel[0].upper()}{ylabel[1:]} per epoch: mean over seeds, ± std band.", path))
    return figures


def write_table(records: Sequence[dict], folder: RunFolder, title: str = "") -> str:
    """The markdown table of ``records``, its plots (:func:`table_figures`) in the folder's ``plots/`` and its
    ``summary.md`` (the table with the plots embedded); returns the table."""
    groups = group_runs(records)
    table = runs_table(groups)
    figures = table_figures(groups, folder.plots)
    sections = [f"# {title}" if title else "", table, figures_markdown(figures, folder.path)]
    folder.write_summary("\n\n".join(s for s in sections if s) + "\n")
    return table


def main(argv=None):
    args = report_parser("Run folders -> markdown table + accuracy-vs-parameters plot", "vision").parse_args(argv)
    records = collect_runs(args.runs)
    if not records:
        raise MissingPathError(f"no finished runs (metrics.json with a final accuracy) under {args.runs}")
    exit_if_dry_run(args.dry_run, {"runs": [r["folder"] for r in records], "out": args.out})
    out = report_folder(args, "vision")
    table = write_table(records, out)
    (out.path / "report.md").write_text(table + "\n")
    print(table)
    print(f"report: {out.path / 'report.md'}, with plots: {out.path / 'summary.md'}")


if __name__ == "__main__":
    main_entry(main)
