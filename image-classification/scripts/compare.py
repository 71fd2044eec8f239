"""Teacher vs student with KD vs the same student without KD: one markdown table and bar/curve plots.

    python -m kd.vision.scripts.compare --config digits_cnn_mlp
    python -m kd.vision.scripts.compare --config mnist_cnn_mlp "compare.seeds=[0, 1, 2]"
    python -m kd.vision.scripts.compare --config digits_cnn_mlp distill.mode=offline method.name=soft_label_ce \\
        methods.soft_label_ce.temperature=2

The student alone has the same architecture and initialisation as the distilled one and takes as many
optimiser steps. The teacher is trained once, with ``seed``, and both students once per seed of ``compare.seeds``
(a list, as ``run.seeds`` is method_table's; null: ``[seed]``; ``--seed N`` makes it ``[N]``): their
initialisation, batch order and, with ``student.labelled_fraction < 1``, the labelled part; with several seeds the
table gives mean ± sample std. Writes metrics.json (its ``final``: the table's ``rows``, the students' ``seeds``
and the names of the rows trained with them, ``students``), plots/ (accuracy per model, accuracy against
cost, test accuracy per epoch, reliability diagram, confusion difference of the KD student against the teacher)
and summary.md, which embeds the plots, into the run folder.
"""
from __future__ import annotations

from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import method_settings
from kd.common.utils.plotting import Palette
from kd.common.utils.seed import check_seed_list
from kd.vision.figures import accuracy_curves
from kd.vision.pipeline import (Experiment, alone_epochs, distil_student, evaluate_models, get_teacher,
                                load_experiment_config, open_run, prepare_experiment, stage_history, student_epochs,
                                teacher_logits, train_student_alone)
from kd.vision.summary import finish_run, given_teacher


def row_names(cfg: dict) -> dict[str, str]:
    """The table's row names, saying what each student learnt from."""
    student, fraction = cfg["student"]["arch"], cfg["student"]["labelled_fraction"]
    labels = "" if fraction >= 1.0 else f"; {100 * fraction:g}% labelled"
    transfer = " + the rest unlabelled" if labels and cfg["distill"]["transfer_set"] == "all" else ""
    method, mode = cfg["method"]["name"], cfg["distill"]["mode"]
    return {"teacher": f"teacher ({cfg['teacher']['arch']})",
            "student_kd": f"student + KD ({student}, {method}, {mode}{labels}{transfer})",
            "student_alone": f"student alone ({student}{labels})"}


def run_comparison(exp: Experiment) -> dict[str, dict]:
    """Train (or load) the teacher, then per seed distil the student and train it alone; table + plots + summary."""
    cfg = exp.cfg
    seeds = cfg["compare"]["seeds"]  # resolved and checked by load_compare_config
    teacher, teacher_path = get_teacher(exp)
    before = teacher_logits(exp, teacher)
    distilled, alone = [], []
    for seed in seeds:
        run = exp.for_student_seed(seed)
        distilled.append(distil_student(run, teacher, teacher_path, before)[0])
        alone.append(train_student_alone(run, before)[0])
    names = row_names(cfg)
    evaluation = evaluate_models(exp, {names["teacher"]: teacher, names["student_kd"]: distilled,
                                       names["student_alone"]: alone}, teacher_logits(exp, teacher))
    histories = {names["teacher"]: [stage_history(exp, "teacher")],
                 f"{names['teacher']}, guide rounds": [stage_history(exp, "guide_teacher")],
                 **{names[stage]: [stage_history(exp, exp.for_student_seed(s).stage(stage)) for s in seeds]
                    for stage in ("student_kd", "student_alone")}}
    across = f"; students: mean ± std over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else ""
    if alone_epochs(exp) != student_epochs(cfg):
        across += f" (the student alone: as many optimiser steps in {alone_epochs(exp)} shorter epochs)"
    curves = accuracy_curves(histories, exp.run.plots / "test_accuracy.png", palette=Palette(evaluation.rows),
                             title=f"{exp.data.name}: test accuracy per epoch{across}")
    spread = (f" Students: {len(seeds)} seeds ({', '.join(map(str, seeds))}), mean ± sample std; the teacher is "
              "trained once." if len(seeds) > 1 else "")
    notes = (f"Test set: {len(exp.data.splits.test)} images.{spread} FLOPs per image (torch.utils.flop_counter), "
             f"latency = median ms of a batch-{cfg['train']['latency_batch']} forward on {exp.device}.")
    finish_run(exp, f"{exp.data.name}: teacher vs student with and without distillation", evaluation, notes=notes,
               final={"seeds": seeds, "students": [names["student_kd"], names["student_alone"]],
                      **given_teacher(cfg, names["teacher"])},
               pair=(names["teacher"], names["student_kd"]), figures=curves)
    exp.run.close()
    return evaluation.rows


def load_compare_config(args, default_preset: str | None = None) -> dict:
    """The vision config (:func:`~kd.vision.pipeline.load_experiment_config`) with ``compare.seeds`` resolved: ``--seed
    N`` makes it ``[N]``, as it makes ``run.seeds`` in method_table; null is ``[seed]``; otherwise a list of distinct
    whole numbers, and one seed in guide mode (whose students cannot share a teacher)."""
    cfg = load_experiment_config(args, default_preset)
    if args.seed is not None:
        cfg["compare"]["seeds"] = [args.seed]
    elif cfg["compare"]["seeds"] is None:
        cfg["compare"]["seeds"] = [cfg["seed"]]
    seeds = check_seed_list(cfg["compare"]["seeds"], "compare.seeds")
    if len(seeds) > 1 and cfg["distill"]["mode"] == "guide":
        raise ConfigError("guide mode trains the teacher further while distilling, so its students cannot share "
                          "one teacher across seeds: use one seed (--seed N) with distill.mode=guide")
    return cfg


def main(argv: list[str] | None = None, script: str = "compare", default_preset: str | None = None) -> dict:
    args = common_parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = load_compare_config(args, default_preset)
    exp = open_run(prepare_experiment(args, cfg=cfg, distils=True), args, script, cfg["compare"]["seeds"])
    cfg, splits = exp.cfg, exp.data.splits
    print(f"{exp.data.name} ({len(splits.train)} train / {len(splits.test)} test images, "
          f"shape {exp.data.image_shape}): teacher {cfg['teacher']['arch']} -> student {cfg['student']['arch']} "
          f"with {cfg['method']['name']} {method_settings(cfg)} ({cfg['distill']['mode']}), vs the same student alone")
    rows = run_comparison(exp)
    print(f"run folder: {exp.run.path}")
    return rows


if __name__ == "__main__":
    main_entry(main)
