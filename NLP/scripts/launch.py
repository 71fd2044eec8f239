"""The body shared by the three NLP scripts: config, seed, device, run folder, the task's stage, final table."""
from __future__ import annotations

import torch

from kd.common.utils.cli import common_parser
from kd.common.utils.config import load_config, load_run_config
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import plot_training_progress
from kd.common.utils.run_folder import RunFolder
from kd.common.utils.seed import seed_everything
from kd.nlp.tasks import TASKS
from kd.nlp.tasks.training import markdown_table


def run_stage(stage: str, description: str, argv: list[str] | None = None) -> dict:
    """Parse the common flags, run ``TASKS[cfg.task].<stage>`` in a new (or resumed) run folder, print the table."""
    args = common_parser(description).parse_args(argv)
    if args.resume:
        cfg = load_run_config(args.resume, args.overrides)
        run = RunFolder(args.resume)
    elif args.config:
        cfg = load_config(args.config, args.overrides)
        run = None
    else:
        raise ConfigError("pass --config NLP/configs/<task>.yaml (sst2, trec, multi30k, lm) or --resume RUN_DIR")
    if args.seed is not None:
        cfg["seed"] = args.seed
    task = TASKS.get(cfg["task"])
    seed_everything(cfg["seed"])
    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    device = resolve_device(args.device)
    run = run or RunFolder.create(f"nlp-{cfg['name']}-{stage}", args.runs_dir)
    run.save_config(cfg)
    print(f"run folder: {run.path}")
    final = getattr(task, stage)(cfg, run, device, resume=bool(args.resume))
    run.log_final(final)
    plot_training_progress(run.history, run.plots, title=f"{cfg['name']} {stage}")
    table = markdown_table([final], [c for c in task.columns if c in final])
    run.write_summary(f"# {cfg['name']}: {stage}\n\n{table}\n")
    run.close()
    print(table)
    print(f"run folder: {run.path}")
    return final
