"""Train a teacher on hard labels.

    python -m kd.vision.scripts.train_teacher --config digits_cnn_mlp teacher.epochs=20
    python -m kd.vision.scripts.train_teacher --config cifar100_resnet32x4_resnet8x4
    # continue an interrupted run:
    python -m kd.vision.scripts.train_teacher --resume runs/vision-<data>-train_teacher-s0-...

Writes ``<run>/teacher/checkpoints/model.pt``; pass it to distill/compare as ``teacher.checkpoint=...``.
"""
from __future__ import annotations

from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.config import refuse_teacher_checkpoint
from kd.vision.pipeline import evaluate_models, start_experiment, train_teacher
from kd.vision.summary import finish_run


def refuse_checkpoint(cfg: dict) -> None:
    """A teacher trained from scratch has no use for ``teacher.checkpoint``: given one, a one-line error."""
    refuse_teacher_checkpoint(cfg["teacher"]["checkpoint"], read_by=("distill", "evaluate"),
                              trains_from="from teacher.arch")


def main(argv: list[str] | None = None) -> dict:
    args = common_parser(__doc__.splitlines()[0]).parse_args(argv)
    exp = start_experiment(args, "train_teacher", check=refuse_checkpoint, load_teacher=False)
    teacher, path = train_teacher(exp)
    evaluation = evaluate_models(exp, {f"teacher ({exp.cfg['teacher']['arch']})": teacher}, None)
    finish_run(exp, f"Teacher on {exp.data.name}", evaluation, notes=f"checkpoint: `{path}`",
               final={"teacher_checkpoint": str(path)})
    print(f"teacher checkpoint: {path}")
    print(f"run folder: {exp.run.path}")
    return evaluation.rows


if __name__ == "__main__":
    main_entry(main)
