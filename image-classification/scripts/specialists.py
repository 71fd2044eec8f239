"""Generalist + specialists, end to end (Hinton, Vinyals & Dean 2015, sec. 5): train, group, specialise, combine.

    python -m kd.vision.scripts.specialists --config specialists_digits            # about a minute on a CPU
    python -m kd.vision.scripts.specialists --config specialists_cifar10 data.root=/path/to/cifar10_imagefolder

1. the generalist trains on all classes (or ``generalist.checkpoint`` is loaded);
2. class groups come from ``groups`` or, when it is null, from K-means (``n_groups``) on the columns of the
   covariance matrix of the generalist's predictions on the training images;
3. each specialist (its group + a dustbin class) starts from the generalist's weights and trains on
   hard labels and the generalist's soft targets mapped to its classes (the ``specialist`` method, with its
   settings ``methods.specialist.temperature`` and ``.alpha``), on data enriched so that a
   fraction ``enrich`` of its draws come from its group (null: no enrichment); its logits are then
   corrected for that prior shift;
4. test cases are classified by the generalist alone and by the combination of sec. 5.3 (active
   specialists from the generalist's ``top_n`` classes, q minimising the summed KLs).
Prints and writes (summary.md, metrics.json) the accuracy of both and one row per specialist; summary.md embeds
the training curves of the generalist and of each specialist.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from kd.common.engine import Distiller, predict
from kd.common.metrics import count_parameters, topk_accuracy
from kd.common.utils.cli import common_parser, exit_if_dry_run, main_entry
from kd.common.utils.config import load_config, load_yaml
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import figures_markdown, plot_training_progress
from kd.common.utils.run_folder import RunFolder
from kd.common.utils.seed import seed_everything
from kd.vision.checkpoints import data_record, load_vision_model, save_vision_model
from kd.vision.data import build_data
from kd.vision.methods import METHODS
from kd.vision.methods.specialists import (combine_specialists, correct_for_enrichment, covariance_groups,
                                           init_from_generalist)
from kd.vision.model_registry import build_model, image_size_arg
from kd.vision.pipeline import CONFIG_DIR, DEFAULT_CONFIG, method_settings, optimisation
from kd.vision.summary import stage_figures

TRAINING = {"arch": "cnn", "kwargs": {}, "epochs": 10, "optimizer": "adam", "lr": 0.003, "momentum": 0.9,
            "weight_decay": 0.0, "schedule": "cosine", "milestones": [], "gamma": 0.1}
DEFAULTS = {
    "seed": 0,
    "data": {"name": "digits", "root": None, "batch_size": 64, "eval_batch_size": 256, "num_workers": 0,
             "augment": True, "image_size": None, "skip_bad_images": False, "allow_checkpoint_mismatch": False},
    "generalist": {**TRAINING, "checkpoint": None},
    "specialist": {**TRAINING, "epochs": 5},
    "methods": {"specialist": load_yaml(DEFAULT_CONFIG)["methods"]["specialist"]},  # its temperature and alpha
    "groups": None,
    "n_groups": 3,
    "enrich": 0.5,
    "top_n": 2,
}
RENAMED = {"specialist.temperature": "methods.specialist.temperature",
           "specialist.alpha": "methods.specialist.alpha"}


def train(model, method, loader, section: dict, device, run: RunFolder, lr_key: str, teacher=None,
          evaluate=None) -> list[dict]:
    """Train ``model`` on ``section``'s schedule (``lr_key``: its learning rate's config key, for the advice
    after a diverging loss)."""
    params = [p for p in list(model.parameters()) + list(method.parameters()) if p.requires_grad]
    optimizer, scheduler, interval = optimisation(params, section, section["epochs"], len(loader))
    distiller = Distiller(model, method.to(device), optimizer, device=device, teacher=teacher, scheduler=scheduler,
                          scheduler_interval=interval, run=run,
                          resume_advice=f"lower the learning rate ({lr_key}) and run again")
    history = distiller.fit(loader, section["epochs"], evaluate=evaluate)
    plot_training_progress(history, run.plots, title=run.path.name)
    run.close()
    return history


def enriched_loader(dataset, labels: torch.Tensor, group: list[int], fraction: float | None, batch_size: int,
                    seed: int) -> tuple[DataLoader, float]:
    """Loader whose draws come from ``group`` with probability ``fraction`` (None: plain shuffling).

    Returns the loader and the fraction of in-group draws it makes (for the prior correction)."""
    inside = torch.isin(labels, torch.tensor(group))
    true_fraction = inside.float().mean().item()
    if fraction is None:
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(dataset, batch_size, shuffle=True, generator=generator), true_fraction
    weights = torch.where(inside, fraction / inside.sum(), (1 - fraction) / (~inside).sum()).double()
    sampler = WeightedRandomSampler(weights, len(dataset), generator=torch.Generator().manual_seed(seed))
    return DataLoader(dataset, batch_size, sampler=sampler), fraction


def load_generalist(cfg: dict, data):
    """``generalist.checkpoint``, checked against its arch and the data (unless ``data.allow_checkpoint_mismatch``)."""
    section = cfg["generalist"]
    return load_vision_model(section["checkpoint"], arch=section["arch"], num_classes=data.num_classes, data=data,
                             allow_other_data=cfg["data"]["allow_checkpoint_mismatch"])[0]


def train_generalist(cfg: dict, data, device, root: RunFolder):
    section = cfg["generalist"]
    shape = data.image_shape
    model = build_model(section["arch"], data.num_classes, shape[0], image_size_arg(shape), **section["kwargs"])
    model.to(device)
    method = METHODS.build("supervised", teacher=None, student=model, num_classes=data.num_classes,
                           image_shape=data.image_shape)
    run = RunFolder(root.path / "generalist")
    train(model, method, data.train_loader, section, device, run, "generalist.lr")
    save_vision_model(model, run.checkpoints / "model.pt", section["arch"], data.num_classes, data.image_shape,
                      section["kwargs"], **data_record(data))
    return model


def load_specialists_config(args) -> dict:
    """DEFAULTS < preset < overrides (``--seed N``: ``seed=N``), the specialists' method settings checked."""
    if args.resume:
        raise ConfigError("specialists does not resume an interrupted run: start it again (generalist.checkpoint=PATH "
                          "skips the generalist's training)")
    overrides = list(args.overrides) + ([f"seed={args.seed}"] if args.seed is not None else [])
    cfg = load_config(args.config, overrides, defaults=DEFAULTS, config_dir=CONFIG_DIR,
                      open_sections=("generalist.kwargs", "specialist.kwargs", "methods.*.weights"), renamed=RENAMED)
    method_settings(cfg, "specialist", classes=[0])
    return cfg


def main(argv=None):
    args = common_parser("Generalist + specialists with the combined inference of Hinton et al. 2015").parse_args(argv)
    cfg = load_specialists_config(args)
    seed_everything(cfg["seed"])
    device = resolve_device(args.device)
    data = build_data(cfg["data"], seed=cfg["seed"])
    given = load_generalist(cfg, data).to(device) if cfg["generalist"]["checkpoint"] else None
    exit_if_dry_run(args.dry_run, cfg)
    root = RunFolder.create("specialists", args.runs_dir, tensorboard=False)
    root.save_config(cfg)
    print(f"run folder: {root.path}")

    generalist = given if given is not None else train_generalist(cfg, data, device, root)
    generalist.eval().requires_grad_(False)
    plain_loader = DataLoader(data.splits.train_plain, cfg["data"]["eval_batch_size"])
    train_logits, train_labels = predict(generalist, plain_loader, device)
    groups = cfg["groups"] or covariance_groups(train_logits.softmax(-1), cfg["n_groups"], cfg["seed"])
    print(f"groups: {groups}")

    test_loader = data.test_loader
    generalist_logits, test_labels = predict(generalist, test_loader, device)
    section, shape = cfg["specialist"], data.image_shape
    specialist_logits, rows = [], []
    for m, group in enumerate(groups):
        seed_everything(cfg["seed"] + 1 + m)
        specialist = build_model(section["arch"], len(group) + 1, shape[0], image_size_arg(shape),
                                 **section["kwargs"]).to(device)
        if section["arch"] == cfg["generalist"]["arch"]:
            init_from_generalist(specialist, generalist, group)
        method = METHODS.build("specialist", teacher=generalist, student=specialist, num_classes=len(group) + 1,
                               image_shape=data.image_shape,
                               **method_settings(cfg, "specialist", classes=group, full_classes=data.num_classes))
        loader, sampled = enriched_loader(data.splits.train, train_labels, group, cfg["enrich"],
                                          cfg["data"]["batch_size"], cfg["seed"] + m)
        train(specialist, method, loader, section, device, RunFolder(root.path / f"specialist_{m}"), "specialist.lr",
              generalist)
        logits, _ = predict(specialist, test_loader, device)
        in_group = torch.isin(test_labels, torch.tensor(group)).float().mean().item()
        specialist_logits.append(correct_for_enrichment(logits, in_group, sampled) if cfg["enrich"] else logits)
        inside = torch.isin(test_labels, torch.tensor(group))
        rows.append({"specialist": m, "classes": group, "params": count_parameters(specialist),
                     "generalist_acc_on_group": topk_accuracy(generalist_logits[inside], test_labels[inside], (1,))["top1"],
                     "combined_acc_on_group": None})

    combined = combine_specialists(generalist_logits, specialist_logits, groups, cfg["top_n"])
    for row, group in zip(rows, groups):
        inside = torch.isin(test_labels, torch.tensor(group))
        row["combined_acc_on_group"] = topk_accuracy(combined[inside], test_labels[inside], (1,))["top1"]
    result = {"generalist_acc": topk_accuracy(generalist_logits, test_labels, (1,))["top1"],
              "combined_acc": topk_accuracy(combined, test_labels, (1,))["top1"],
              "changed_predictions": (combined.argmax(-1) != generalist_logits.argmax(-1)).sum().item(),
              "test_images": len(test_labels), "groups": groups, "specialists": rows}
    root.log_final(result)
    table = "\n".join(
        ["| model | test acc. (%) |", "|---|---:|",
         f"| generalist ({cfg['generalist']['arch']}) | {result['generalist_acc']:.2f} |",
         f"| generalist + {len(groups)} specialists (top_n={cfg['top_n']}) | {result['combined_acc']:.2f} |",
         "", "| specialist | classes | params | generalist acc. on its classes | combined acc. on its classes |",
         "|---:|---|---:|---:|---:|"]
        + [f"| {r['specialist']} | {r['classes']} | {r['params']:,} | {r['generalist_acc_on_group']:.2f} | "
           f"{r['combined_acc_on_group']:.2f} |" for r in rows])
    table += f"\n\n{result['changed_predictions']} of {result['test_images']} test predictions changed by the specialists."
    curves = figures_markdown(stage_figures(root.path), root.path, heading="Training curves of each model")
    root.write_summary(f"# Generalist + specialists on {data.name}\n\n{table}\n\n{curves}")
    print(table)
    print(f"run folder: {root.path}")
    return result


if __name__ == "__main__":
    main_entry(main)
