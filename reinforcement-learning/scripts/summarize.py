"""Collect the final figures of finished teacher and distillation runs into one table (mean +- std over seeds).

    python -m kd.rl.scripts.summarize --runs-dir runs

Each row groups the runs of one environment and one setting (algorithm; or method with its settings,
:func:`~kd.rl.distillation.methods.method_setting`, and student size) and reports the mean over seeds of each
run's held-out evaluation, the std across seeds, the seeds found, and for students the environment steps until
the periodic evaluation first reached 90% of the teacher's return (mean over the seeds that got there); for
teachers also the mean return of the training policy's last 100 episodes (the figure CleanRL and RL Zoo report).
Runs that did not finish (no final figures) are skipped. Under the runs folder, per environment:
``plots/<env>-distillation.png`` (each setting's evaluation return against environment steps, mean over seeds
with a ± std band, the teachers' returns dashed), ``plots/<env>-returns.png`` (final return per setting: mean,
± std whisker, a dot per seed) and ``plots/<env>-return_vs_params.png``; ``summary.md`` holds the table with them
embedded.
"""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import yaml

from kd.common.utils.cli import common_parser, exit_if_dry_run, main_entry
from kd.common.utils.errors import MissingPathError
from kd.common.utils.plotting import figures_markdown
from kd.rl.distillation.methods import method_setting
from kd.rl.figures import summary_figures

# The common flags it reads: --runs-dir (the runs it collects, and where it writes) and --dry-run; it reads no
# config, so --config, --device, --seed, --resume and key=value overrides are refused in one line (common_parser's
# takes).
READS = ("runs_dir", "dry_run")


def _mean_std(values: list[float]) -> str:
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} +- {std:.1f}"


def teacher_label(config: dict) -> str:
    """``ppo`` or ``ppo, continued`` (a teacher trained further from ``teacher.init``)."""
    return config["teacher"]["algo"] + (", continued" if config["teacher"].get("init") else "")


def collect(runs_dir: Path) -> tuple[dict, dict]:
    teachers, students = defaultdict(list), defaultdict(list)
    for metrics in sorted(runs_dir.glob("*/metrics.json")):
        saved = json.loads(metrics.read_text())
        final, history = saved.get("final", {}), saved.get("history", [])
        config_file = metrics.parent / "config.yaml"
        config = yaml.safe_load(config_file.read_text()) or {} if config_file.is_file() else {}
        if not isinstance(config.get("env"), dict) or "teacher" not in config:  # another domain's run
            continue
        env, seed = config["env"]["name"], config["seed"]
        if "policy_parameters" in final:
            teachers[(env, teacher_label(config))].append((seed, final))
        elif "student_return_mean" in final:
            hidden = "x".join(str(h) for h in config["student"]["arch"].get("hidden", []))
            base = final.get("percent_random_return") or 0.0  # 90 % on the scale percent_of_teacher used
            target = base + 0.9 * (final["teacher_return_mean"] - base)
            reached = [r["steps"] for r in history if r.get("eval_return", float("-inf")) >= target]
            curve = {r["steps"]: r["eval_return"] for r in history if "eval_return" in r}
            final = {**final, "steps_to_90": reached[0] if reached else None, "curve": curve}
            teacher_config = Path(final["teacher_checkpoint"]).parents[1] / "config.yaml"
            label = teacher_label(yaml.safe_load(teacher_config.read_text())) if teacher_config.is_file() else "?"
            students[(env, label, final["method"], method_setting(config, final), hidden)].append((seed, final))
    return teachers, students


def main(argv: list[str] | None = None) -> str:
    args = common_parser("Summarise finished kd.rl runs over seeds", takes=READS).parse_args(argv)
    runs_dir = Path(args.runs_dir)
    if not runs_dir.is_dir():
        raise MissingPathError(f"runs folder '{runs_dir}' does not exist")
    teachers, students = collect(runs_dir)
    exit_if_dry_run(args.dry_run, {"runs_dir": str(runs_dir), "teacher_runs": sum(map(len, teachers.values())),
                                   "student_runs": sum(map(len, students.values()))})
    lines = ["| env | policy | policy params | return (mean over seeds +- std across seeds) | % of teacher | "
             "steps to 90% | training episodes (CleanRL / RL Zoo figure) | seeds |",
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
        percent = [r["percent_of_teacher"] for _, r in rows]
        first = rows[0][1]
        reached = [r["steps_to_90"] for _, r in rows if r["steps_to_90"] is not None]
        speed = f"{statistics.fmean(reached):,.0f} ({len(reached)}/{len(rows)})" if reached else \
            f"never (0/{len(rows)})"
        normalised = " (random = 0)" if first.get("percent_random_return") is not None else ""
        lines.append(f"| {env} | {labels[key]} | {first['student_parameters']:,} "
                     f"({first['compression']:.1f}x smaller) | {_mean_std(returns)} | "
                     f"{_mean_std(percent)}{normalised} | "
                     f"{speed} | - | {sorted(s for s, _ in rows)} |")
    table = "\n".join(lines) + "\n"
    figures = summary_figures(teachers, students, labels, runs_dir / "plots")
    (runs_dir / "summary.md").write_text(f"# RL runs in {runs_dir}\n\n{table}\n{figures_markdown(figures, runs_dir)}")
    print(table)
    print(f"summary with plots: {runs_dir / 'summary.md'}")
    return table


if __name__ == "__main__":
    main_entry(main)
