"""Export a distilled student for deployment: safetensors weights + config.json, and ONNX checked against PyTorch.

    python -m kd.vision.scripts.export runs/vision-digits-distill-s0-20260101-120000  # its student_kd stage
    python -m kd.vision.scripts.export runs/vision-digits-compare-20260101-120000 --stage student_alone \\
        --out exported/  # a compare run's student trained alone (a distill run has teacher and student_kd)
    python -m kd.vision.scripts.export path/to/checkpoints/model.pt

Writes OUT (default RUN_DIR/export/<stage>, or export/ beside a model.pt): model.safetensors, config.json and
model.onnx (kd/vision/export.py); ``kd.vision.export.load_exported(OUT)`` rebuilds the PyTorch model from the
registry, and ONNX Runtime runs model.onnx on normalised images (N, C, H, W) with the normalisation config.json
records.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from kd.common.utils.cli import add_dry_run_flag, exit_if_dry_run, main_entry
from kd.vision.checkpoints import load_vision_model
from kd.vision.export import CHECK_BATCH, export_vision_model, stage_checkpoint


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder a vision script wrote, or a model.pt")
    parser.add_argument("--stage", default="student_kd",
                        help="the run's stage sub-folder to export (default: student_kd)")
    parser.add_argument("--out", help="output folder (default: RUN_DIR/export/<stage>)")
    add_dry_run_flag(parser)
    args = parser.parse_args(argv)
    checkpoint, run_dir = stage_checkpoint(args.run_dir, args.stage), Path(args.run_dir)
    default_out = checkpoint.parent / "export" if run_dir.is_file() else run_dir / "export" / args.stage
    out = Path(args.out) if args.out else default_out
    if args.dry_run:
        load_vision_model(checkpoint)  # the checkpoint reads and its model rebuilds
    exit_if_dry_run(args.dry_run, {"checkpoint": str(checkpoint), "out": str(out)})
    config = export_vision_model(checkpoint, out)
    sizes = {name: (out / name).stat().st_size / 2**20 for name in ("model.safetensors", "model.onnx")}
    print(f"| file | MiB |\n|---|---|\n" + "".join(f"| {out / n} | {s:.2f} |\n" for n, s in sizes.items()))
    print(f"{config['arch']}: {config['parameters']:,} parameters; ONNX Runtime vs PyTorch on {CHECK_BATCH} random "
          f"inputs: max |difference| {config['onnx_max_abs_diff']:.2e}")
    print(f"exported to {out}")
    return config


if __name__ == "__main__":
    main_entry(main)
