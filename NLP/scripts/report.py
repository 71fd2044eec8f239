"""NLP run folders -> per data set a table (mean +- std over seeds) with plots of the spread, the trade-off and
the learning curves.

    python -m kd.nlp.scripts.report --runs runs/nlp-sst2-* [--out runs/sst2-report]

Every folder below the given paths whose ``config.yaml`` has a ``task`` and whose ``metrics.json`` has a final
record counts as one run; ``evaluate`` runs (they re-measure a model trained elsewhere) are left out. Runs of
one data set (the config's ``name``) with the same model label and size are seeds of one row; a seed found twice
there (a run repeated) counts once, the first folder found, and a line names the folder left out. Per data set
``<name>`` it writes into ``--out`` (default: a new run folder ``nlp-report-<stamp>``): ``plots/<name>-quality.png``
(a bar per row: mean, ± std whisker, a dot per seed), ``plots/<name>-tradeoff.png`` (quality against
parameters and ms per example), ``plots/<name>-curves.png`` (the dev metric per epoch: mean over seeds, ± std
band); and ``summary.md``, the tables with the plots embedded, which it also prints.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from kd.common.utils.cli import exit_if_dry_run, main_entry
from kd.common.utils.errors import MissingPathError
from kd.common.utils.plotting import Palette, figures_markdown, plot_bars, plot_curves, plot_tradeoff
from kd.common.utils.report import (mean_spread, metrics_files, report_folder, report_parser, rows_by_settings,
                                    run_settings, seeds_once)
from kd.nlp.tasks.training import results_table

QUALITY = {"dev_acc": "dev accuracy (%)", "bleu": "BLEU", "val_ppl": "validation perplexity (lower is better)"}
CURVES = {"dev_acc": "dev accuracy (%)", "val_ppl": "validation perplexity (lower is better)"}
# Config keys that do not make a row (kd.common.utils.report.run_settings): the seed, the data set's name (the
# report's sections), this machine's paths and threads, the final evaluation's settings.
NOT_SETTINGS = ("seed", "name", "threads", "data.path", "distill.cache_dir", "evaluate.")


def collect(paths: list[str]) -> dict[str, dict[str, list[dict]]]:
    """Data set name -> row label -> the runs of that row (final record plus ``history``, ``batch``, ``seed`` and
    ``folder``), teachers first, then in the folders' order; labels are the runs' ``model``, with the parameter
    count when two sizes share one, and the settings that differ when runs of one model ran with others (another
    teacher, learning rate or method setting: :func:`~kd.common.utils.report.rows_by_settings`), which are rows of
    their own, not seeds; a seed a row has twice counts once, the first folder found (a line names the folder left
    out: :func:`~kd.common.utils.report.seeds_once`)."""
    found = []  # (data set, model, params, settings, run)
    for metrics in metrics_files(paths):
        config_file = metrics.parent / "config.yaml"
        config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else None
        saved = json.loads(metrics.read_text())
        final = saved.get("final", {})
        if not isinstance(config, dict) or "task" not in config or "model" not in final \
                or final.get("stage") == "evaluate":
            continue
        run = {**final, "history": saved.get("history", []), "seed": config.get("seed"), "folder": str(metrics.parent),
               "batch": config.get("evaluate", {}).get("throughput_batch")}
        found.append((config["name"], final["model"], final.get("params"), run_settings(config, NOT_SETTINGS), run))
    sizes: dict[tuple, set] = {}
    for name, model, params, _, _ in found:
        sizes.setdefault((name, model), set()).add(params)
    teachers_first = sorted(found, key=lambda f: f[4].get("stage") != "train_teacher")
    rows = rows_by_settings(((name, f"{model} ({params:,} params)" if len(sizes[(name, model)]) > 1 else model),
                             settings, run) for name, model, params, settings, run in teachers_first)
    out: dict[str, dict[str, list[dict]]] = {}
    for (name, label), runs in seeds_once(rows, lambda run: run["seed"], lambda run: run["folder"]).items():
        out.setdefault(name, {})[label] = runs
    return out


def data_set_report(name: str, rows: dict[str, list[dict]], plots: Path) -> str:
    """The markdown section of one data set: its table and its plots (drawn into ``plots``)."""
    metric = next(key for key in QUALITY if any(key in run for runs in rows.values() for run in runs))
    rows = {label: [run for run in runs if metric in run] for label, runs in rows.items()}
    rows = {label: runs for label, runs in rows.items() if runs}
    quality = QUALITY[metric]
    scorings = sorted({run["bleu_scoring"] for runs in rows.values() for run in runs if run.get("bleu_scoring")})
    if metric == "bleu" and scorings:  # sacreBLEU's standard scoring, or the word tokenizer's lower-cased words
        quality += f" ({'; '.join(scorings)})"
    values = {label: [run[metric] for run in runs] for label, runs in rows.items()}
    palette = Palette(values)
    batch = next((run["batch"] for runs in rows.values() for run in runs if run["batch"]), None)
    latency = f"ms per example (batch of {batch})" if batch else "ms per example"
    costs = {label: {"params": runs[0].get("params", 0),
                     "latency": 1000 / runs[0]["throughput"] if runs[0].get("throughput") else 0}
             for label, runs in rows.items()}
    table = []
    for label, runs in values.items():
        table.append({"model": label, "seeds": len(runs), quality: mean_spread(runs),
                      "params": costs[label]["params"], latency: costs[label]["latency"]})
    figures = []
    path = plots / f"{name}-quality.png"
    plot_bars(values, path, xlabel=quality, palette=palette, title=f"{name}: {quality} per model",
              ceiling=100 if metric == "dev_acc" else None)
    figures.append((f"{name}: {quality}, mean over seeds, ± std whisker, a dot per seed.", path))
    path = plots / f"{name}-tradeoff.png"
    if plot_tradeoff(values, costs, path, ylabel=quality, palette=palette,
                     cost_labels={"params": "parameters", "latency": latency},
                     title=f"{name}: {quality} against what the model costs"):
        figures.append((f"{name}: quality against parameters and time per example.", path))
    key = next((k for k in CURVES if any(k in r for runs in rows.values() for run in runs for r in run["history"])),
               None)
    path = plots / f"{name}-curves.png"
    if key and plot_curves({label: [{r["epoch"]: r[key] for r in run["history"] if key in r} for run in runs]
                            for label, runs in rows.items()}, path, xlabel="epoch", ylabel=CURVES[key],
                           title=f"{name}: {CURVES[key]} per epoch", palette=palette, integer_x=True):
        figures.append((f"{name}: {CURVES[key]} per epoch, mean over seeds, ± std band.", path))
    columns = ["model", "seeds", quality, "params", latency]
    return f"## {name}\n\n{results_table(table, columns)}\n\n{figures_markdown(figures, plots.parent, level=3)}"


def main(argv: list[str] | None = None) -> str:
    args = report_parser("NLP run folders -> tables over seeds with plots", "nlp").parse_args(argv)
    data_sets = collect(args.runs)
    if not data_sets:
        raise MissingPathError(f"no finished NLP runs (config.yaml with a task, metrics.json with a final record) "
                               f"under {args.runs}")
    exit_if_dry_run(args.dry_run, {"data_sets": {name: list(rows) for name, rows in data_sets.items()},
                                   "out": args.out})
    out = report_folder(args, "nlp")
    text = "# NLP runs\n\n" + "\n".join(data_set_report(name, rows, out.plots) for name, rows in data_sets.items())
    out.write_summary(text)
    print(text)
    print(f"report: {out.path / 'summary.md'}")
    return text


if __name__ == "__main__":
    main_entry(main)
