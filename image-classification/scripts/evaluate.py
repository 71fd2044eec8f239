"""Evaluate a checkpoint on a data set: top-1/top-5, ECE, agreement with a teacher, params, FLOPs, latency.

    python -m kd.vision.scripts.evaluate --checkpoint runs/distill-.../student_kd/checkpoints/model.pt
    python -m kd.vision.scripts.evaluate --checkpoint S.pt --teacher T.pt
    python -m kd.vision.scripts.evaluate --checkpoint S.pt --config cifar100_resnet32x4_resnet8x4 data.root=/data

The data set is the one the checkpoint was trained on (its saved data config) unless --config or
data.* overrides say otherwise. A checkpoint for another number of classes is a one-line error.
"""
from __future__ import annotations

from kd.common.utils.checkpoint import safe_load
from kd.common.utils.cli import common_parser, main_entry
from kd.vision.checkpoints import load_vision_model
from kd.vision.pipeline import evaluate_models, start_experiment, teacher_logits
from kd.vision.report import markdown_table


def main(argv: list[str] | None = None) -> dict:
    parser = common_parser(__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a model.pt written by train_teacher/distill/compare")
    parser.add_argument("--teacher", help="a teacher model.pt: adds agreement and KL to the teacher")
    args = parser.parse_args(argv)
    saved_data = safe_load(args.checkpoint).get("meta", {}).get("data_config")
    if saved_data and not args.config:  # evaluate on the checkpoint's own data set unless told otherwise
        args.overrides = [f"data={_yaml_inline(saved_data)}"] + list(args.overrides)
    exp = start_experiment(args, "evaluate")
    model, ckpt = load_vision_model(args.checkpoint, num_classes=exp.data.num_classes)
    models = {f"{ckpt['arch']} ({args.checkpoint})": model.to(exp.device)}
    reference = None
    if args.teacher:
        teacher, t_ckpt = load_vision_model(args.teacher, num_classes=exp.data.num_classes)
        teacher = teacher.to(exp.device)
        reference = teacher_logits(exp, teacher)
        models = {f"teacher {t_ckpt['arch']} ({args.teacher})": teacher, **models}
    rows = evaluate_models(exp, models, reference)
    table = markdown_table(rows)
    exp.run.log_final({"rows": rows})
    exp.run.write_summary(f"# Evaluation on {exp.data.name}\n\n{table}\n")
    exp.run.close()
    print(table)
    print(f"run folder: {exp.run.path}")
    return rows


def _yaml_inline(value: dict) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip()


if __name__ == "__main__":
    main_entry(main)
