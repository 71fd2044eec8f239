"""RL run folders -> one table of the finished teacher and distillation runs (mean +- std over seeds), with plots.

    python -m kd.rl.scripts.report --runs runs/rl-cartpole-* [--out runs/cartpole-report]

Every folder below the given paths whose ``config.yaml`` has an ``env`` section and a ``teacher`` and whose
``metrics.json`` has a teacher's or a student's final figures counts as one run (runs that did not finish are
skipped). Each row groups the runs of one environment and one setting (algorithm; or method with its settings,
:func:`~kd.rl.distillation.methods.method_setting`, and student size; runs of one such setting that ran with other
settings besides, another step count or learning rate, are rows of their own, named by what differs:
:func:`~kd.common.utils.report.rows_by_settings`; a student's teacher checkpoint is not one of them, so students of
three teacher seeds make one row; a seed found twice in a row, a run repeated, counts once: the same seed, and for a
student the same teacher checkpoint, :func:`seed_of_run`) and reports the mean over seeds of each
run's held-out evaluation, the sample std across seeds (n - 1: :func:`~kd.common.utils.report.spread`, the
std of vision's and NLP's tables), the seeds found, and for students the environment steps until the periodic
evaluation first reached 90% of the teacher's return (mean over the seeds that got there); for teachers also the
mean return of the training policy's last 100 episodes (the figure CleanRL's tables report).
Per environment it writes into ``--out`` (default: a new run folder ``rl-report-<stamp>``):
``plots/<env>-distillation.png`` (each setting's evaluation return against environment steps, mean over seeds
with a ± std band, the teachers' returns dashed), ``plots/<env>-returns.png`` (final return per setting: mean,
± std whisker, a dot per seed) and ``plots/<env>-return_vs_params.png``; and ``summary.md``, the table with the
plots embedded. Prints the table.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

import yaml

from kd.common.utils.cli import exit_if_dry_run, main_entry
from kd.common.utils.errors import MissingPathError
from kd.common.utils.plotting import figures_markdown
from kd.common.utils.report import (mean_spread, metrics_files, report_folder, report_parser, rows_by_settings,
                                    run_settings, seeds_once)
from kd.rl.distillation.methods import method_setting
from kd.rl.figures import summary_figures


# Config keys that do not make a row (kd.common.utils.report.run_settings): the seed, the threads, the final
# evaluation's settings (the same held-out episodes for every row), and a student's teacher, which its row names by
# algorithm (students of several teacher seeds are seeds of one row).
NOT_SETTINGS = ("seed", "threads", "evaluate.", "teacher.checkpoint")


def _mean_std(values: list[float]) -> str:
    """``mean +- std`` over seeds, the std the sample one (n - 1), the mean alone for one seed, as every domain's
    tables give it (:func:`~kd.common.utils.report.mean_spread`)."""
    return mean_spread(values, "{:.1f}", "+-")


def _percent_cell(rows: list[tuple[int, dict]]) -> str:
    """The "% of teacher" of a student row's seeds, mean +- std when they share a scale
    (:func:`~kd.rl.evaluation.percent_baseline`: the plain ratio while the teacher's return is positive, else 0 % =
    the random policy); seeds whose teachers' returns differ in sign used both, and are not averaged."""
    random_normalised = {r.get("percent_random_return") is not None for _, r in rows}
    if len(random_normalised) > 1:
        return "- (seeds on two scales: their teachers' returns differ in sign)"
    return _mean_std([r["percent_of_teacher"] for _, r in rows]) + (" (random = 0)" if random_normalised.pop() else "")


def seed_of_run(run: tuple[int, dict]) -> int | str:
    """What one seed of a row is (:func:`~kd.common.utils.report.seeds_once`): a teacher's seed; a student's seed and
    the teacher checkpoint it learnt from, as students of several teacher seeds share a row."""
    seed, final = run
    return f"{seed} (teacher {final['teacher_checkpoint']})" if "teacher_checkpoint" in final else seed


def teacher_label(config: dict) -> str:
    """``ppo`` or ``ppo, continued`` (a teacher trained further from ``teacher.init``)."""
    return config["teacher"]["algo"] + (", continued" if config["teacher"].get("init") else "")


def collect(paths: list[str]) -> tuple[dict, dict]:
    """``(teachers, students)``: setting -> ``(seed, final record)`` of each finished run below ``paths`` (its
    ``folder`` added), teachers keyed by ``(env, teacher_label)``, students by ``(env, teacher's label, method,
    method_setting, hidden sizes)`` with their steps to 90 % of the teacher and their evaluation ``curve`` (steps ->
    return) added; the last part of a key is followed by the settings that differ where runs of one key ran with
    several (:func:`~kd.common.utils.report.rows_by_settings`). A seed a row has twice (:func:`seed_of_run`) counts
    once, the first folder found; a line names the folder left out (:func:`~kd.common.utils.report.seeds_once`)."""
    teachers, students = [], []  # (row key ending in its label, settings, (seed, final record))
    for metrics in metrics_files(paths):
        saved = json.loads(metrics.read_text())
        final, history = saved.get("final", {}), saved.get("history", [])
        config_file = metrics.parent / "config.yaml"
        config = yaml.safe_load(config_file.read_text()) or {} if config_file.is_file() else {}
        if not isinstance(config.get("env"), dict) or "teacher" not in config:  # another domain's run
            continue
        env, seed = config["env"]["name"], config["seed"]
        ran_with = run_settings(config, NOT_SETTINGS)
        final = {**final, "folder": str(metrics.parent)}
        if "policy_parameters" in final:
            teachers.append(((env, teacher_label(config)), ran_with, (seed, final)))
        elif "student_return_mean" in final:
            hidden = "x".join(str(h) for h in config["student"]["arch"].get("hidden", []))
            base = final.get("percent_random_return") or 0.0  # 90 % on the scale percent_of_teacher used
            target = base + 0.9 * (final["teacher_return_mean"] - base)
            reached = [r["steps"] for r in history if r.get("eval_return", float("-inf")) >= target]
            curve = {r["steps"]: r["eval_return"] for r in history if "eval_return" in r}
            final = {**final, "steps_to_90": reached[0] if reached else None, "curve": curve}
            teacher_config = Path(final["teacher_checkpoint"]).parents[1] / "config.yaml"
            label = teacher_label(yaml.safe_load(teacher_config.read_text())) if teacher_config.is_file() else "?"
            students.append(((env, label, final["method"], method_setting(config, final), hidden), ran_with,
                             (seed, final)))
    return tuple(seeds_once(rows_by_settings(runs), seed_of_run, lambda run: run[1]["folder"])
                 for runs in (teachers, students))


def main(argv: list[str] | None = None) -> str:
    args = report_parser("RL run folders -> a table over seeds with plots", "rl").parse_args(argv)
    teachers, students = collect(args.runs)
    if not teachers and not students:
        raise MissingPathError(f"no finished RL runs (config.yaml with env and teacher, metrics.json with a teacher's "
                               f"or a student's final figures) under {args.runs}")
    exit_if_dry_run(args.dry_run, {"runs": args.runs, "teacher_runs": sum(map(len, teachers.values())),
                                   "student_runs": sum(map(len, students.values())), "out": args.out})
    out = report_folder(args, "rl")
    lines = ["| env | policy | policy params | return (mean over seeds +- std across seeds) | % of teacher | "
             "steps to 90% | training episodes (CleanRL's figure) | seeds |",
             "|---|---|---|---|---|---|---|---|"]
    labels = {}
    for (env, algo), rows in sorted(teachers.items()):
        labels[(env, algo)] = f"{algo} teacher"
        returns = [r["teacher_return_mean"] for _, r in rows]
        training = [r["training_return_mean"] for _, r in rows if "training_return_mean" in r]
        lines.append(f"| {env} | {algo} teacher | {rows[0][1]['policy_parameters']:,} | {_mean_std(returns)} | "
                     f"100 | - | {_mean_std(training) if training else '-'} | {sorted(s for s, _ in rows)} |")
    for key, rows in sorted(students.items()):
        env, teacher, method, setting, hidden = key
        labels[key] = f"{method} ({setting}), MLP {hidden}, from the {teacher} teacher"
        returns = [r["student_return_mean"] for _, r in rows]
        first = rows[0][1]
        reached = [r["steps_to_90"] for _, r in rows if r["steps_to_90"] is not None]
        speed = f"{statistics.fmean(reached):,.0f} ({len(reached)}/{len(rows)})" if reached else \
            f"never (0/{len(rows)})"
        lines.append(f"| {env} | {labels[key]} | {first['student_parameters']:,} "
                     f"({first['compression']:.1f}x smaller) | {_mean_std(returns)} | {_percent_cell(rows)} | "
                     f"{speed} | - | {sorted(s for s, _ in rows)} |")
    table = "\n".join(lines) + "\n"
    figures = summary_figures(teachers, students, labels, out.plots)
    summary = out.write_summary(f"# RL runs in {' '.join(args.runs)}\n\n{table}\n{figures_markdown(figures, out.path)}")
    print(table)
    print(f"report: {summary}")
    return table


if __name__ == "__main__":
    main_entry(main)
