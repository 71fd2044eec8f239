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

The config is the vision schema (image-classification/configs/default.yaml): its ``seed``, ``data``, ``train`` and
``methods.specialist`` sections; ``generalist`` takes the keys of its ``teacher`` section and ``specialist`` those
of its ``student`` section (architecture, schedule, optimiser, batch size, ...); ``groups``, ``n_groups``,
``enrich`` and ``top_n`` are the script's own (OWN_KEYS). Data, the generalist's training or checked checkpoint
and each specialist's optimisation are the stages of :mod:`kd.vision.pipeline`, in the stage folders
``generalist/`` and ``specialist_<m>/``; ``--resume RUN_DIR`` continues an interrupted run as the other vision
scripts do: a finished stage is kept, an interrupted one continues from its ``checkpoints/last.pt``, the rest run.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, Sampler, WeightedRandomSampler

from kd.common.engine import predict
from kd.common.metrics import count_parameters, topk_accuracy
from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.config import load_yaml
from kd.common.utils.method_sections import check_section, method_settings
from kd.common.utils.plotting import figures_markdown
from kd.vision.data import label_images
from kd.vision.data.labelled import dataset_labels
from kd.vision.methods import METHODS
from kd.vision.methods.registry import SUPPLIED, WHAT
from kd.vision.methods.specialists import (combine_specialists, correct_for_enrichment, covariance_groups,
                                           init_from_generalist)
from kd.vision.pipeline import (DEFAULT_CONFIG, RENAMED, Experiment, build_arch, build_experiment,
                                check_training_section, close_stage, load_checked_model, load_experiment_config,
                                make_distiller, open_run, place, plain_training_images, train_teacher)
from kd.vision.summary import stage_figures
from kd.vision.torchvision_models import fetch_published_weights

OWN_KEYS = {
    "groups": None,   # the specialists' class groups, e.g. [[3, 5], [0, 8]]; null: K-means on the covariance columns
    "n_groups": 3,    # K of that K-means
    "enrich": 0.5,    # fraction of each specialist's training draws taken from its group; null: plain shuffling
    "top_n": 2,       # the generalist's top_n classes of a test image choose the active specialists
}


class ReplayedSampler(Sampler):
    """``sampler``, drawing from ``generator``, whose epoch ``e`` (``set_epoch``, called by the engine) is the
    e-th epoch of one uninterrupted stream from ``seed``: the generator is reseeded and the earlier epochs drawn
    again, so a specialist resumed after epoch e draws what the uninterrupted one would have."""

    def __init__(self, sampler: Sampler, generator: torch.Generator, seed: int):
        self.sampler, self.generator, self.seed = sampler, generator, seed

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed)
        for _ in range(epoch):
            for _ in self.sampler:
                pass

    def __iter__(self):
        return iter(self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def enriched_loader(dataset, labels: torch.Tensor, group: list[int], fraction: float | None, batch_size: int,
                    seed: int) -> tuple[DataLoader, float]:
    """Loader whose draws come from ``group`` with probability ``fraction`` (None: plain shuffling), in an order
    that is a function of (seed, epoch) (:class:`ReplayedSampler`).

    Returns the loader and the fraction of in-group draws it makes (for the prior correction)."""
    inside = torch.isin(labels, torch.tensor(group))
    generator = torch.Generator().manual_seed(seed)
    if fraction is None:
        sampler, sampled = RandomSampler(dataset, generator=generator), inside.float().mean().item()
    else:
        weights = torch.where(inside, fraction / inside.sum(), (1 - fraction) / (~inside).sum()).double()
        sampler, sampled = WeightedRandomSampler(weights, len(dataset), generator=generator), fraction
    return DataLoader(dataset, batch_size, sampler=ReplayedSampler(sampler, generator, seed)), sampled


# What --resume cannot change: the generalist, the groups and the finished specialists were made with these.
FIXED_ON_RESUME = ("seed", "data.name", "data.image_size", "data.test_fraction", "data.train_subset",
                   "data.test_subset", "generalist", "specialist.arch", "specialist.kwargs", "specialist.optimizer",
                   "methods.specialist", "groups", "n_groups", "enrich")


def load_specialists_config(args) -> dict:
    """default.yaml's sections (``generalist``: its teacher keys, ``specialist``: its student keys) and OWN_KEYS <
    preset < overrides (``--seed N``: ``seed=N``), or ``--resume RUN_DIR``'s saved config with the overrides (one
    that changes a key of FIXED_ON_RESUME refused): the vision pipeline's loader with this script's schema; the
    model, optimiser and schedule names and the specialists' method settings checked."""
    vision = load_yaml(DEFAULT_CONFIG)
    defaults = {"seed": vision["seed"], "threads": vision["threads"], "data": vision["data"], "train": vision["train"],
                "methods": {"specialist": vision["methods"]["specialist"]}, "generalist": vision["teacher"],
                "specialist": {k: v for k, v in vision["student"].items() if k != "labelled_fraction"}, **OWN_KEYS}
    cfg = load_experiment_config(args, fixed=FIXED_ON_RESUME, defaults=defaults,
                                 open_sections=("generalist.kwargs", "specialist.kwargs", "methods.*.weights"),
                                 renamed={**RENAMED, "specialist.temperature": "methods.specialist.temperature",
                                          "specialist.alpha": "methods.specialist.alpha"})
    for section in ("generalist", "specialist"):
        check_training_section(cfg[section])
    check_section(METHODS, WHAT, "specialist", method_settings(cfg, "specialist"), key="methods.specialist",
                  supplied=SUPPLIED)
    return cfg


def train_specialist(exp: Experiment, m: int, group: list[int], generalist: nn.Module,
                     train_labels: torch.Tensor) -> tuple[nn.Module, float]:
    """Specialist ``m`` of ``group`` (+ a dustbin class), started from the generalist's weights when the
    architectures match and distilled from it on the enriched draws; returns it and its in-group draw fraction."""
    cfg, section = exp.cfg, exp.cfg["specialist"]
    specialist = build_arch(exp, section, exp.seed + 1 + m, num_classes=len(group) + 1)
    if section["arch"] == cfg["generalist"]["arch"]:
        init_from_generalist(specialist, generalist, group)
    settings = method_settings(cfg, "specialist", classes=group, full_classes=exp.data.num_classes)
    method = METHODS.build("specialist", teacher=generalist, student=specialist, num_classes=len(group) + 1,
                           image_shape=exp.data.image_shape, **settings)
    loader, sampled = enriched_loader(exp.data.splits.train, train_labels, group, cfg["enrich"],
                                      section["batch_size"] or cfg["data"]["batch_size"], exp.seed + m)
    distiller = make_distiller(exp, f"specialist_{m}", specialist, method, section, section["epochs"], len(loader),
                               "specialist.lr", teacher=generalist)
    distiller.fit(loader, section["epochs"], resume=exp.resume)
    close_stage(distiller)
    return specialist, sampled


def main(argv=None):
    args = common_parser("Generalist + specialists with the combined inference of Hinton et al. 2015").parse_args(argv)
    cfg = load_specialists_config(args)
    exp = build_experiment(cfg, args)  # with --resume its stages continue from their last.pt
    given = cfg["generalist"]["checkpoint"]
    given = place(load_checked_model(exp, given, arch=cfg["generalist"]["arch"])[0], cfg["train"], exp.device) \
        if given else None
    for section in ("specialist",) if given else ("generalist", "specialist"):  # before the run folder: offline is
        fetch_published_weights(cfg[section]["arch"], cfg[section]["kwargs"])    # one line
    exp = open_run(exp, args, "specialists")

    generalist = given if given is not None else train_teacher(exp, "generalist")[0]
    generalist.eval().requires_grad_(False)
    train_logits, _ = label_images(generalist, plain_training_images(exp), exp.device, exp.precision)
    train_labels = dataset_labels(exp.data.splits.train)
    groups = cfg["groups"] or covariance_groups(train_logits.softmax(-1), cfg["n_groups"], cfg["seed"])
    print(f"groups: {groups}")

    test_loader = exp.data.test_loader
    generalist_logits, test_labels = predict(generalist, test_loader, exp.device, precision=exp.precision)
    specialist_logits, rows = [], []
    for m, group in enumerate(groups):
        specialist, sampled = train_specialist(exp, m, group, generalist, train_labels)
        logits, _ = predict(specialist, test_loader, exp.device, precision=exp.precision)
        in_group = torch.isin(test_labels, torch.tensor(group)).float().mean().item()
        specialist_logits.append(correct_for_enrichment(logits, in_group, sampled) if cfg["enrich"] else logits)
        inside = torch.isin(test_labels, torch.tensor(group))
        generalist_acc = topk_accuracy(generalist_logits[inside], test_labels[inside], (1,))["top1"]
        rows.append({"specialist": m, "classes": group, "params": count_parameters(specialist),
                     "generalist_acc_on_group": generalist_acc,
                     "combined_acc_on_group": None})
    combined = combine_specialists(generalist_logits, specialist_logits, groups, cfg["top_n"])
    for row, group in zip(rows, groups):
        inside = torch.isin(test_labels, torch.tensor(group))
        row["combined_acc_on_group"] = topk_accuracy(combined[inside], test_labels[inside], (1,))["top1"]
    result = {"generalist_acc": topk_accuracy(generalist_logits, test_labels, (1,))["top1"],
              "combined_acc": topk_accuracy(combined, test_labels, (1,))["top1"],
              "changed_predictions": (combined.argmax(-1) != generalist_logits.argmax(-1)).sum().item(),
              "test_images": len(test_labels), "groups": groups, "specialists": rows}
    exp.run.log_final(result)
    table = "\n".join(
        ["| model | test acc. (%) |", "|---|---:|",
         f"| generalist ({cfg['generalist']['arch']}) | {result['generalist_acc']:.2f} |",
         f"| generalist + {len(groups)} specialists (top_n={cfg['top_n']}) | {result['combined_acc']:.2f} |",
         "", "| specialist | classes | params | generalist acc. on its classes | combined acc. on its classes |",
         "|---:|---|---:|---:|---:|"]
        + [f"| {r['specialist']} | {r['classes']} | {r['params']:,} | {r['generalist_acc_on_group']:.2f} | "
           f"{r['combined_acc_on_group']:.2f} |" for r in rows])
    table += (f"\n\n{result['changed_predictions']} of {result['test_images']} test predictions changed by "
              "the specialists.")
    curves = figures_markdown(stage_figures(exp.run.path), exp.run.path, heading="Training curves of each model")
    exp.run.write_summary(f"# Generalist + specialists on {exp.data.name}\n\n{table}\n\n{curves}")
    print(table)
    print(f"run folder: {exp.run.path}")
    return result


if __name__ == "__main__":
    main_entry(main)
