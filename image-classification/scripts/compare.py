"""Teacher vs student with KD vs the same student without KD: one markdown table and bar/curve plots.

    python -m kd.vision.scripts.compare --config digits_cnn_mlp
    python -m kd.vision.scripts.compare --config mnist_cnn_mlp compare.seeds=3
    python -m kd.vision.scripts.compare --config digits_cnn_mlp distill.mode=offline method.name=soft_label_ce \\
        method.kwargs={temperature: 4.0}

The student alone has the same architecture and initialisation as the distilled one and takes as many
optimiser steps. With ``compare.seeds=N`` the teacher is trained once and both students N times (seeds
``seed .. seed+N-1``: initialisation, batch order and, with ``student.labelled_fraction < 1``, the labelled
part); the table gives mean ± sample std. Writes summary.md, metrics.json and
plots/{comparison,test_accuracy}.png into the run folder.
"""
from __future__ import annotations

from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import plot_bars, plot_curves
from kd.vision.pipeline import (Experiment, distil_student, evaluate_models, get_teacher, stage_history,
                                start_experiment, teacher_logits, train_student_alone)
from kd.vision.report import markdown_table


def row_names(cfg: dict) -> dict[str, str]:
    """The table's row names, saying what each student learnt from."""
    student, fraction = cfg["student"]["arch"], cfg["student"]["labelled_fraction"]
    labels = "" if fraction >= 1.0 else f"; {100 * fraction:g}% labelled"
    transfer = " + the rest unlabelled" if labels and cfg["distill"]["transfer_set"] == "all" else ""
    return {"teacher": f"teacher ({cfg['teacher']['arch']})",
            "student_kd": f"student + KD ({student}, {cfg['method']['name']}, {cfg['distill']['mode']}{labels}{transfer})",
            "student_alone": f"student alone ({student}{labels})"}


def run_comparison(exp: Experiment) -> dict[str, dict]:
    """Train (or load) the teacher, then per seed distil the student and train it alone; table + plots + summary."""
    cfg = exp.cfg
    seeds = [exp.seed + i for i in range(cfg["compare"]["seeds"])]
    teacher, teacher_path = get_teacher(exp)
    before = teacher_logits(exp, teacher)
    distilled, alone = [], []
    for seed in seeds:
        run = exp.for_student_seed(seed)
        distilled.append(distil_student(run, teacher, teacher_path, before)[0])
        alone.append(train_student_alone(run, before)[0])
    names = row_names(cfg)
    rows = evaluate_models(exp, {names["teacher"]: teacher, names["student_kd"]: distilled,
                                 names["student_alone"]: alone}, teacher_logits(exp, teacher))
    table = markdown_table(rows)
    plots = exp.run.plots
    plot_bars(list(rows), [r["acc"] for r in rows.values()], plots / "comparison.png", "test top-1 accuracy (%)",
              title=f"{exp.data.name}: teacher vs student with / without KD",
              errors=[r.get("acc_std", 0.0) for r in rows.values()])
    curves = {}
    for stage in ("teacher", "guide_teacher", "student_kd", "student_alone"):
        for record in stage_history(exp, stage):
            if "test_acc" in record:
                curves.setdefault(record["epoch"], {"epoch": record["epoch"]})[stage] = record["test_acc"]
    plot_curves([curves[e] for e in sorted(curves)], ["teacher", "guide_teacher", "student_kd", "student_alone"],
                plots / "test_accuracy.png", title=f"{exp.data.name}: test accuracy per epoch (seed {exp.seed})")
    exp.run.log_final({"rows": rows, "seeds": seeds})
    spread = (f" Students: {len(seeds)} seeds ({', '.join(map(str, seeds))}), mean ± sample std; the teacher is "
              "trained once." if len(seeds) > 1 else "")
    exp.run.write_summary(
        f"# {exp.data.name}: teacher vs student with and without distillation\n\n{table}\n\n"
        f"Test set: {len(exp.data.splits.test)} images, {exp.data.num_classes} classes.{spread} FLOPs per image "
        f"(torch.utils.flop_counter), latency = median ms of a batch-{cfg['train']['latency_batch']} forward on "
        f"{exp.device}. Plots: plots/comparison.png, plots/test_accuracy.png; per-stage curves in each sub-folder.\n")
    exp.run.close()
    return rows


def check_seeds(cfg: dict) -> None:
    if cfg["compare"]["seeds"] < 1:
        raise ConfigError(f"compare.seeds must be at least 1, got {cfg['compare']['seeds']}")
    if cfg["compare"]["seeds"] > 1 and cfg["distill"]["mode"] == "guide":
        raise ConfigError("guide mode trains the teacher further while distilling, so its students cannot share "
                          "one teacher across seeds: use compare.seeds=1 (and --seed N) with distill.mode=guide")


def main(argv: list[str] | None = None, run_name: str = "compare", default_preset: str | None = None) -> dict:
    args = common_parser(__doc__.splitlines()[0]).parse_args(argv)
    exp = start_experiment(args, run_name, default_preset, check=check_seeds)
    cfg, splits = exp.cfg, exp.data.splits
    print(f"{exp.data.name} ({len(splits.train)} train / {len(splits.test)} test images, shape {exp.data.image_shape}): "
          f"teacher {cfg['teacher']['arch']} -> student {cfg['student']['arch']} with {cfg['method']['name']} "
          f"{cfg['method']['kwargs']} ({cfg['distill']['mode']}), vs the same student alone")
    rows = run_comparison(exp)
    print(markdown_table(rows))
    print(f"run folder: {exp.run.path}")
    return rows


if __name__ == "__main__":
    main_entry(main)
