"""Learning-rate sweep: the same method table at several student learning rates -> one table and one plot.

    python -m kd.vision.scripts.lr_sweep --lrs 0.01 0.02 0.05 0.1 \\
        --config image-classification/configs/cifar10_resnet32x4_resnet8x4.yaml data.root=DIR run.methods=[simkd]

``--config``, ``--device`` and the overrides go to :mod:`kd.vision.scripts.method_table`, plus
``student.lr=<lr>`` for each value. Every check method_table makes before its table folder exists (config, data,
``teacher.checkpoint``, each row's method on the models) runs first, at the first value, before the sweep folder is
made (``--dry-run``: those checks and the config at the first value). The teacher is trained once (at the first
value) unless ``teacher.checkpoint`` is given, and reused by the others.
The sweep folder is ``<runs-dir>/vision-<data.name>-lr_sweep[-s<seed>]-<stamp>/``, each value's table in its
``lr<lr>/vision-<data.name>-method_table-...`` sub-folder. Writes ``plots/accuracy_vs_lr.png`` (per method the
mean over seeds, with a ± std band, on a log lr axis) and ``lr_sweep.md`` (one row per lr and method: mean +- std
over seeds, the mean alone for one seed; the plot embedded) into the sweep folder. ``--resume`` is refused: resume
an interrupted value's table with ``method_table --resume``.
"""
from __future__ import annotations

import copy
from pathlib import Path

from kd.common.utils.cli import common_parser, exit_if_dry_run, main_entry
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import figures_markdown, plot_curves
from kd.common.utils.report import mean_spread
from kd.common.utils.run_folder import RunFolder, run_name
from kd.vision.scripts import method_table
from kd.vision.scripts.report import collect_runs


def checked_config(args) -> dict:
    """method_table's config at the first learning rate, once it has passed every check method_table makes before
    its table folder exists (:func:`~kd.vision.scripts.method_table.prepare_table`)."""
    first = copy.copy(args)
    first.overrides = [*args.overrides, f"student.lr={args.lrs[0]}"]
    return method_table.prepare_table(first)[0].cfg


def main(argv=None):
    parser = common_parser("Student learning-rate sweep of a method table")
    parser.add_argument("--lrs", type=float, nargs="+", required=True, help="student learning rates to try")
    args = parser.parse_args(argv)
    if args.resume:
        raise ConfigError("lr_sweep cannot --resume; resume an interrupted value's table with method_table --resume "
                          "SWEEP/lr<lr>/<its folder>, or start the sweep again")
    options = ((["--config", args.config] if args.config else []) + ["--device", args.device]
               + (["--seed", str(args.seed)] if args.seed is not None else []))
    cfg = checked_config(args)
    exit_if_dry_run(args.dry_run, cfg)
    seeds = cfg["run"]["seeds"]
    name = run_name("vision", cfg["data"]["name"], "lr_sweep", seeds[0] if len(seeds) == 1 else None)
    sweep = RunFolder.create(name, args.runs_dir, tensorboard=False)
    print(f"run folder: {sweep.path}")
    teacher_override: list[str] = []
    records = []
    for lr in args.lrs:
        root = method_table.main([*options, "--runs-dir", str(sweep.path / f"lr{lr:g}"), *args.overrides,
                                  *teacher_override, f"student.lr={lr}", f"run.name=lr{lr:g}"])
        trained = sorted(Path(root).glob("teacher-seed*/checkpoints/model.pt"))
        if trained and not teacher_override:
            teacher_override = [f"teacher.checkpoint={trained[0]}"]
        records += [{**r, "lr": lr} for r in collect_runs([root]) if r["label"] != "teacher"]
    rows, curves = {}, {}
    for r in records:
        rows.setdefault((r["label"], r["lr"]), []).append(r["accuracy"])
        curves.setdefault(r["label"], {}).setdefault(r["seed"], {})[r["lr"]] = r["accuracy"]
    lines = ["| method | student lr | seeds | test acc. (%) mean +- std |", "|---|---:|---:|---:|"]
    for (label, lr), accs in sorted(rows.items()):
        lines.append(f"| {label} | {lr:g} | {len(accs)} | {mean_spread(accs, sign='+-')} |")
    table = "\n".join(lines)
    sweep.log_final({"rows": [{"label": k[0], "lr": k[1], "accuracies": v} for k, v in rows.items()]})
    plot = sweep.plots / "accuracy_vs_lr.png"
    plot_curves({label: list(seeds.values()) for label, seeds in curves.items()}, plot, log_x=True,
                xlabel="student learning rate", ylabel="last-epoch test top-1 accuracy (%)",
                title="test accuracy against the student's learning rate")
    figures = figures_markdown([("Test accuracy against the learning rate: mean over seeds, ± std band.", plot)],
                               sweep.path)
    (sweep.path / "lr_sweep.md").write_text(f"{table}\n\n{figures}")
    print(table)
    print(f"sweep folder: {sweep.path}")


if __name__ == "__main__":
    main_entry(main)
