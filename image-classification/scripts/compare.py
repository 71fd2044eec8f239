"""Teacher vs student with KD vs the same student without KD: one markdown table and bar/curve plots.

    python -m kd.vision.scripts.compare --config digits_cnn_mlp
    python -m kd.vision.scripts.compare --config mnist_cnn_mlp
    python -m kd.vision.scripts.compare --config digits_cnn_mlp distill.mode=offline method.name=soft_label_ce \\
        method.kwargs={temperature: 4.0}

The student alone has the same architecture, initialisation and number of epochs as the distilled one.
Writes summary.md, metrics.json and plots/{comparison,test_accuracy}.png into the run folder.
"""
from __future__ import annotations

from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.plotting import plot_bars, plot_curves
from kd.vision.pipeline import (Experiment, distil_student, evaluate_models, get_teacher, stage_history,
                                start_experiment, teacher_logits, train_student_alone)
from kd.vision.report import markdown_table


def run_comparison(exp: Experiment) -> dict[str, dict]:
    """Train (or load) the teacher, distil the student, train the student alone; table + plots + summary."""
    cfg = exp.cfg
    teacher, teacher_path = get_teacher(exp)
    before = teacher_logits(exp, teacher)
    kd_student, _ = distil_student(exp, teacher, teacher_path, before)
    alone, _ = train_student_alone(exp, before)
    names = {"teacher": f"teacher ({cfg['teacher']['arch']})",
             "student_kd": f"student + KD ({cfg['student']['arch']}, {cfg['method']['name']}, {cfg['distill']['mode']})",
             "student_alone": f"student alone ({cfg['student']['arch']})"}
    rows = evaluate_models(exp, {names["teacher"]: teacher, names["student_kd"]: kd_student,
                                 names["student_alone"]: alone}, teacher_logits(exp, teacher))
    table = markdown_table(rows)
    plots = exp.run.plots
    plot_bars(list(rows), [r["acc"] for r in rows.values()], plots / "comparison.png", "test top-1 accuracy (%)",
              title=f"{exp.data.name}: teacher vs student with / without KD")
    curves = {}
    for stage in ("teacher", "guide_teacher", "student_kd", "student_alone"):
        for record in stage_history(exp, stage):
            if "test_acc" in record:
                curves.setdefault(record["epoch"], {"epoch": record["epoch"]})[stage] = record["test_acc"]
    plot_curves([curves[e] for e in sorted(curves)], ["teacher", "guide_teacher", "student_kd", "student_alone"],
                plots / "test_accuracy.png", title=f"{exp.data.name}: test accuracy per epoch")
    exp.run.log_final({"rows": rows})
    exp.run.write_summary(
        f"# {exp.data.name}: teacher vs student with and without distillation\n\n{table}\n\n"
        f"Test set: {len(exp.data.splits.test)} images, {exp.data.num_classes} classes. FLOPs per image "
        f"(torch.utils.flop_counter), latency = median ms of a batch-{cfg['train']['latency_batch']} forward on "
        f"{exp.device}. Plots: plots/comparison.png, plots/test_accuracy.png; per-stage curves in each sub-folder.\n")
    exp.run.close()
    return rows


def main(argv: list[str] | None = None, run_name: str = "compare", default_preset: str | None = None) -> dict:
    args = common_parser(__doc__.splitlines()[0]).parse_args(argv)
    exp = start_experiment(args, run_name, default_preset)
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
