"""Evaluate a checkpoint on a data set: top-1/top-5, ECE, agreement with a teacher, params, FLOPs, latency.

    python -m kd.vision.scripts.evaluate --checkpoint runs/vision-digits-distill-s0-.../student_kd/checkpoints/model.pt
    python -m kd.vision.scripts.evaluate --checkpoint S.pt --teacher T.pt
    python -m kd.vision.scripts.evaluate --checkpoint S.pt --config cifar100_resnet32x4_resnet8x4 data.root=/data

The data set is the one the checkpoint was trained on (its saved data config) unless --config or
data.* overrides say otherwise. A checkpoint for another number of classes is a one-line error, and so is
one trained on other data (data set, class names, input shape, normalisation) unless
``data.allow_checkpoint_mismatch=true``. Every checkpoint is checked before the run folder is made.
"""
from __future__ import annotations

import json

from kd.common.utils.checkpoint import safe_load
from kd.common.utils.cli import common_parser, main_entry
from kd.vision.pipeline import evaluate_models, load_checked_model, open_run, prepare_experiment, teacher_logits
from kd.vision.summary import finish_run


def main(argv: list[str] | None = None) -> dict:
    parser = common_parser(__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a model.pt written by train_teacher/distill/compare")
    parser.add_argument("--teacher", help="a teacher model.pt: adds agreement and KL to the teacher")
    args = parser.parse_args(argv)
    saved = safe_load(args.checkpoint)
    saved_data = saved.get("meta", {}).get("data_config") if isinstance(saved, dict) else None
    if saved_data and not args.config:  # evaluate on the checkpoint's own data set unless told otherwise
        saved_keys = [f"+data.{key}={json.dumps(value)}" for key, value in saved_data.items()]
        args.overrides = saved_keys + list(args.overrides)
    exp = prepare_experiment(args, load_teacher=False)
    model, ckpt = load_checked_model(exp, args.checkpoint)
    models = {f"{ckpt['arch']} ({args.checkpoint})": model.to(exp.device)}
    teacher = None
    if args.teacher:
        teacher, t_ckpt = load_checked_model(exp, args.teacher)
        teacher = teacher.to(exp.device)
        models = {f"teacher {t_ckpt['arch']} ({args.teacher})": teacher, **models}
    exp = open_run(exp, args, "evaluate", seeds=())  # it trains nothing: no seed in its name
    reference = teacher_logits(exp, teacher) if teacher is not None else None
    evaluation = evaluate_models(exp, models, reference)
    finish_run(exp, f"Evaluation on {exp.data.name}", evaluation, pair=tuple(models) if teacher is not None else None)
    exp.run.close()
    print(f"run folder: {exp.run.path}")
    return evaluation.rows


if __name__ == "__main__":
    main_entry(main)
