"""Evaluate a checkpoint on a data set: top-1/top-5, ECE, agreement with a teacher, params, FLOPs, latency.

    python -m kd.vision.scripts.evaluate \
        evaluate.checkpoint=runs/vision-digits-distill-s0-<stamp>/student_kd/checkpoints/model.pt
    python -m kd.vision.scripts.evaluate evaluate.checkpoint=S.pt teacher.checkpoint=T.pt
    python -m kd.vision.scripts.evaluate evaluate.checkpoint=S.pt --config cifar100_resnet32x4_resnet8x4 data.root=/data

The model scored is ``evaluate.checkpoint`` and the teacher it is compared with (agreement, KL) ``teacher.checkpoint``,
the keys NLP's and RL's evaluate read; ``--checkpoint`` and ``--teacher`` of earlier versions are refused naming them.
The data set is the one the checkpoint was trained on (its saved data config) unless --config or
data.* overrides say otherwise. A checkpoint for another number of classes is a one-line error, and so is
one trained on other data (data set, class names, input shape, normalisation) unless
``data.allow_checkpoint_mismatch=true``. Every checkpoint is checked before the run folder is made.
"""
from __future__ import annotations

import json

from kd.common.utils.checkpoint import MODEL_CHECKPOINT, safe_load
from kd.common.utils.cli import EVALUATE_FLAGS, common_parser, main_entry
from kd.common.utils.errors import ConfigError
from kd.vision.pipeline import (evaluate_models, load_checked_model, load_experiment_config, open_run,
                                prepare_experiment, teacher_logits)
from kd.vision.summary import finish_run


def main(argv: list[str] | None = None) -> dict:
    parser = common_parser(__doc__.splitlines()[0], renamed=EVALUATE_FLAGS)
    args = parser.parse_args(argv)
    path = load_experiment_config(args)["evaluate"]["checkpoint"]
    if not path:
        raise ConfigError(f"pass evaluate.checkpoint=RUN_DIR/<stage>/checkpoints/{MODEL_CHECKPOINT} (a model "
                          "train_teacher, distill or compare wrote), and teacher.checkpoint=PATH to compare it with "
                          "a teacher")
    saved = safe_load(path)
    saved_data = saved.get("meta", {}).get("data_config") if isinstance(saved, dict) else None
    if saved_data and not args.config:  # evaluate on the checkpoint's own data set unless told otherwise
        saved_keys = [f"+data.{key}={json.dumps(value)}" for key, value in saved_data.items()]
        args.overrides = saved_keys + list(args.overrides)
    exp = prepare_experiment(args, load_teacher=False)
    model, ckpt = load_checked_model(exp, path)
    models = {f"{ckpt['arch']} ({path})": model.to(exp.device)}
    teacher, teacher_path = None, exp.cfg["teacher"]["checkpoint"]
    if teacher_path:
        teacher, t_ckpt = load_checked_model(exp, teacher_path)
        teacher = teacher.to(exp.device)
        models = {f"teacher {t_ckpt['arch']} ({teacher_path})": teacher, **models}
    exp = open_run(exp, args, "evaluate", seeds=())  # it trains nothing: no seed in its name
    reference = teacher_logits(exp, teacher) if teacher is not None else None
    evaluation = evaluate_models(exp, models, reference)
    finish_run(exp, f"Evaluation on {exp.data.name}", evaluation, pair=tuple(models) if teacher is not None else None)
    exp.run.close()
    print(f"run folder: {exp.run.path}")
    return evaluation.rows


if __name__ == "__main__":
    main_entry(main)
