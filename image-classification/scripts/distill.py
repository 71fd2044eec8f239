"""Distil a student from a teacher (trained here, or ``teacher.checkpoint=PATH``) in one of three modes.

    python -m kd.vision.scripts.distill --config digits_cnn_mlp distill.mode=offline
    python -m kd.vision.scripts.distill --config digits_cnn_mlp distill.mode=guide distill.rounds=3
    python -m kd.vision.scripts.distill --config cifar100_resnet32x4_resnet8x4 teacher.checkpoint=runs/.../model.pt
    python -m kd.vision.scripts.distill --resume runs/vision-cifar100-distill-s0-...

Modes: online (teacher forward on every batch), offline (teacher labels the data once; cached),
guide (rounds of: teacher trains more, relabels, student trains on the fresh labels).
"""
from __future__ import annotations

from kd.common.utils.cli import common_parser, main_entry
from kd.vision.pipeline import distil_student, evaluate_models, get_teacher, start_experiment, teacher_logits
from kd.vision.summary import finish_run, given_teacher


def main(argv: list[str] | None = None) -> dict:
    args = common_parser(__doc__.splitlines()[0]).parse_args(argv)
    exp = start_experiment(args, "distill", distils=True)
    teacher, teacher_path = get_teacher(exp)
    student, student_path = distil_student(exp, teacher, teacher_path, teacher_logits(exp, teacher))
    cfg = exp.cfg
    names = (f"teacher ({cfg['teacher']['arch']})",
             f"student + {cfg['method']['name']} ({cfg['student']['arch']}, {cfg['distill']['mode']})")
    evaluation = evaluate_models(exp, dict(zip(names, (teacher, student))), teacher_logits(exp, teacher))
    finish_run(exp, f"Distillation on {exp.data.name}", evaluation, notes=f"student checkpoint: `{student_path}`",
               final={"student_checkpoint": str(student_path), **given_teacher(cfg, names[0])}, pair=names)
    print(f"student checkpoint: {student_path}")
    print(f"run folder: {exp.run.path}")
    return evaluation.rows


if __name__ == "__main__":
    main_entry(main)
