"""What a vision run leaves for its reader at the end: the table and the class names, printed; the rows and the
class names in metrics.json; summary.md with the table, notes, classes and every figure embedded, so the run
folder reads as a report in any markdown viewer."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from kd.common.utils.plotting import figures_markdown
from kd.vision.figures import Figures, model_figures
from kd.vision.report import model_metrics_table

STAGES = ("teacher", "guide_teacher", "student_kd", "student_alone")  # the pipeline's sub-folders, in run order
PRINTED_CLASSES = 20


def describe_classes(names: Sequence[str], limit: int | None = None) -> str:
    """``10 classes: 0, 1, ...``, cut after ``limit`` names (None: all of them)."""
    shown = list(names) if limit is None or len(names) <= limit else [*names[:limit], f"... {len(names) - limit} more"]
    return f"{len(names)} classes: " + ", ".join(map(str, shown))


def stage_figures(run: Path) -> Figures:
    """The training curves in each sub-folder of ``run`` that has plots (a pipeline stage, a specialist), the
    pipeline's stages first in run order; ``-seedN`` folders, the same curves for other seeds, are left out."""
    folders = [p for p in run.iterdir() if (p / "plots").is_dir() and not re.search(r"-seed\d+$", p.name)]
    folders.sort(key=lambda p: (STAGES.index(p.name) if p.name in STAGES else len(STAGES), p.name))
    return [(f"{folder.name}: {png.stem}", png) for folder in folders
            for png in sorted((folder / "plots").glob("*.png"))]


def given_teacher(cfg: dict, row: str) -> dict:
    """``{"given": {row: path}}`` when the teacher row ``row`` is ``teacher.checkpoint`` as it was given (not trained in
    this run: guide mode trains it further), for ``final``; else ``{}``. The report takes that path as the row's seed,
    so runs that read one teacher count it once, whatever their own seeds."""
    path, mode = cfg["teacher"].get("checkpoint"), cfg.get("distill", {}).get("mode")
    return {"given": {row: str(path)}} if path and mode != "guide" else {}


def finish_run(exp, title: str, evaluation, *, notes: str = "", final: dict | None = None,
               pair: tuple[str, str] | None = None, figures: Figures = ()) -> str:
    """Draw the run's figures (:func:`~kd.vision.figures.model_figures`, then ``figures`` drawn by the script),
    log ``final`` with the rows and class names to metrics.json, write summary.md, print the table and the
    class names; return the table. ``exp`` is the script's :class:`~kd.vision.pipeline.Experiment` and
    ``evaluation`` what :func:`~kd.vision.pipeline.evaluate_models` returned."""
    names = [str(name) for name in exp.data.class_names]
    latency = f"latency (ms per batch of {exp.cfg['train']['latency_batch']}, {exp.device.type})"
    drawn = model_figures(evaluation, exp.run.plots, data_name=exp.data.name, class_names=names,
                          latency_label=latency, pair=pair)
    exp.run.log_final({**(final or {}), "rows": evaluation.rows, "class_names": names})
    table = model_metrics_table(evaluation.rows)
    sections = [f"# {title}", table, notes, describe_classes(names) + ".",
                figures_markdown([*drawn, *figures], exp.run.path),
                figures_markdown(stage_figures(exp.run.path), exp.run.path, heading="Training curves of each stage")]
    exp.run.write_summary("\n\n".join(s for s in sections if s) + "\n")
    print(table)
    print(describe_classes(names, PRINTED_CLASSES))
    return table
