"""Generalist + specialists, end to end (Hinton, Vinyals & Dean 2015, sec. 5): train, group, specialise, combine.

    python -m kd.vision.scripts.specialists --config specialists_digits            # about a minute on a CPU
    python -m kd.vision.scripts.specialists --config specialists_cifar10 data.root=/path/to/cifar10_imagefolder

1. the generalist, the ``teacher`` section, trains on all classes (or ``teacher.checkpoint=PATH`` is loaded, as
   in every vision script);
2. class groups come from ``specialists.groups`` or, when it is null, from K-means (``specialists.n_groups``) on
   the columns of the covariance matrix of the generalist's predictions on the training images;
3. each specialist (its group + a dustbin class), trained on the ``student`` section's settings, starts from the
   generalist's weights and trains on hard labels and the generalist's soft targets mapped to its classes (the
   ``specialist`` method, with its settings ``methods.specialist.temperature`` and ``.alpha``), on data enriched so
   that a fraction ``specialists.enrich`` of its draws come from its group (null: no enrichment); its logits are
   then corrected for that prior shift;
4. test cases are classified by the generalist alone and by the combination of sec. 5.4 (active
   specialists from the generalist's ``specialists.top_n`` classes, q minimising the summed KLs).
Prints and writes (summary.md, metrics.json) the accuracy of both and one row per specialist; summary.md embeds
the training curves of the generalist and of each specialist.

The config is every vision script's (image-classification/configs/default.yaml; its ``specialists:`` section is
this script's own, as ``run:`` is method_table's), loaded and checked by the pipeline; ``method``, ``distill``
and ``run`` are not read. Data, the generalist's training or checked checkpoint and each specialist's
optimisation are the stages of :mod:`kd.vision.pipeline`, in the stage folders ``generalist/`` and
``specialist_<m>/`` (each with its ``checkpoints/model.pt``, a specialist's with |group| + 1 outputs, the dustbin
last); ``--resume RUN_DIR`` continues an interrupted run as the other vision scripts do: a finished
stage is kept, an interrupted one continues from its ``checkpoints/last.pt``, the rest run.

Earlier versions had a schema of their own (``generalist:``, ``specialist:``, top-level ``groups``,
``n_groups``, ``enrich``, ``top_n``): those keys are refused with their new names (OLD_KEYS), in a preset, an
override and the saved config of a run folder made then, which ``--resume`` therefore refuses too (rename the
keys in its config.yaml to resume it; its stage folders are the same).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, Sampler, WeightedRandomSampler

from kd.common.engine import predict
from kd.common.metrics import count_parameters, topk_accuracy
from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.config import is_whole_number, load_yaml
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import method_settings
from kd.common.utils.plotting import figures_markdown
from kd.vision.data import label_images
from kd.vision.data.labelled import dataset_labels
from kd.vision.methods import METHODS
from kd.vision.methods.specialists import (combine_specialists, correct_for_enrichment, covariance_groups,
                                           init_from_generalist)
from kd.vision.pipeline import (DEFAULT_CONFIG, RENAMED, Experiment, build_arch, finish_stage, fit_to_data,
                                get_teacher, load_experiment_config, make_distiller, open_run,
                                plain_training_images, prepare_experiment)
from kd.vision.summary import stage_figures



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


# What --resume cannot change: the generalist, the groups and the finished specialists were made with these
# (``teacher`` covers the generalist's lookahead; a specialist's last.pt holds an average built with
# ``student.lookahead``; ``data.flip``: the alternating flip's epoch-0 draw decides the later epochs'; and
# ``data.crop_padding_mode``: the generalist and the finished specialists trained on crops padded so; the batch
# sizes: the lr schedule and the lookahead count steps).
FIXED_ON_RESUME = ("seed", "data.name", "data.image_size", "data.test_fraction", "data.train_subset",
                   "data.test_subset", "data.flip", "data.crop_padding_mode", "data.batch_size", "teacher",
                   "student.batch_size", "student.arch",
                   "student.kwargs", "student.optimizer", "student.lookahead", "methods.specialist",
                   "specialists.groups", "specialists.n_groups", "specialists.enrich")


def old_keys() -> dict[str, str]:
    """This script's keys of earlier versions -> their names in the vision schema: ``generalist.<key>`` is
    ``teacher.<key>``, ``specialist.<key>`` is ``student.<key>`` (its KD settings ``methods.specialist.<key>``),
    ``groups`` is ``specialists.groups`` and so on; a key the sections never had is named with its section."""
    vision = load_yaml(DEFAULT_CONFIG)
    sections = {"generalist": "teacher", "specialist": "student"}
    renamed = {"specialist.temperature": "methods.specialist.temperature",
               "specialist.alpha": "methods.specialist.alpha"}
    renamed |= {f"{old}.{key}": f"{new}.{key}" for old, new in sections.items() for key in vision[new]}
    renamed |= {"generalist": "teacher (the generalist's section, e.g. teacher.checkpoint, teacher.epochs)",
                "specialist": "student (the specialists' training, e.g. student.epochs), methods.specialist (their "
                              "KD) and specialists (this script's own keys)"}
    return renamed | {key: f"specialists.{key}" for key in vision["specialists"]}


OLD_KEYS = old_keys()


def load_specialists_config(args) -> dict:
    """The vision pipeline's config (default.yaml < preset < overrides, ``--seed N``: ``seed=N``; or ``--resume
    RUN_DIR``'s saved config with the overrides, one that changes a key of FIXED_ON_RESUME refused), the keys of
    OLD_KEYS refused with their new names, and checked for what is this script's: each specialist trains on every
    label, and the ``specialists`` section (:func:`check_specialists_section`). The names in it are checked, as every
    vision script's, by :func:`~kd.vision.pipeline.prepare_experiment`, and the class ids against the data by
    :func:`check_groups_fit`."""
    cfg = load_experiment_config(args, fixed=FIXED_ON_RESUME, renamed={**RENAMED, **OLD_KEYS})
    if cfg["student"]["labelled_fraction"] < 1.0:
        raise ConfigError("specialists trains each specialist on every training label; drop "
                          "student.labelled_fraction (it must be 1.0 here)")
    check_specialists_section(cfg["specialists"])
    return cfg


def check_specialists_section(own: dict) -> None:
    """The ``specialists`` section, in one-line ConfigErrors naming the key: ``groups`` null or a non-empty list of
    non-empty lists of class ids (whole numbers >= 0), no class in two groups; ``n_groups`` a whole number >= 2 (one
    group would hold every class, leaving its dustbin empty); ``enrich`` null or a fraction strictly between 0 and 1;
    ``top_n`` a whole number >= 1."""
    groups = own["groups"]
    if groups is not None:
        if not isinstance(groups, list) or not groups or not all(
                isinstance(g, list) and g and all(is_whole_number(c) and c >= 0 for c in g) for g in groups):
            raise ConfigError("specialists.groups must be null (K-means groups) or a non-empty list of non-empty "
                              f"lists of class ids, e.g. [[3, 5], [0, 8]]; got {groups!r}")
        named = [c for g in groups for c in g]
        twice = sorted({c for c in named if named.count(c) > 1})
        if twice:
            raise ConfigError(f"specialists.groups={groups} names class {twice[0]} twice: each class belongs to "
                              "one specialist at most")
    if not is_whole_number(own["n_groups"]) or own["n_groups"] < 2:
        raise ConfigError(f"specialists.n_groups must be a whole number >= 2, got {own['n_groups']!r}")
    enrich = own["enrich"]
    if enrich is not None and (not isinstance(enrich, (int, float)) or isinstance(enrich, bool)
                               or not 0.0 < enrich < 1.0):
        raise ConfigError("specialists.enrich must be null (plain shuffling) or a fraction strictly between 0 and 1, "
                          f"got {enrich!r}")
    if not is_whole_number(own["top_n"]) or own["top_n"] < 1:
        raise ConfigError(f"specialists.top_n must be a whole number >= 1, got {own['top_n']!r}")


def check_groups_fit(own: dict, num_classes: int) -> None:
    """The ``specialists`` section against the data's ``num_classes``: every class id of ``groups`` one of its
    classes and no group holding all of them (a specialist's dustbin stands for the classes outside its group), and,
    when the groups come from K-means, ``n_groups`` at most ``num_classes``."""
    for group in own["groups"] or []:
        outside = [c for c in group if c >= num_classes]
        if outside:
            raise ConfigError(f"specialists.groups names class {outside[0]}, but the data set's classes are 0 to "
                              f"{num_classes - 1}")
        if len(group) == num_classes:
            raise ConfigError(f"specialists.groups has a group of all {num_classes} classes; a specialist's dustbin "
                              "class stands for the classes outside its group, so leave some out")
    if own["groups"] is None and own["n_groups"] > num_classes:
        raise ConfigError(f"specialists.n_groups={own['n_groups']} groups cannot be made of the data set's "
                          f"{num_classes} classes")


def train_specialist(exp: Experiment, m: int, group: list[int], generalist: nn.Module,
                     train_labels: torch.Tensor) -> tuple[nn.Module, float]:
    """Specialist ``m`` of ``group`` (+ a dustbin class), started from the generalist's weights when the
    architectures match and distilled from it on the enriched draws; returns it and its in-group draw fraction."""
    cfg, section = exp.cfg, exp.cfg["student"]
    specialist = build_arch(exp, section, exp.seed + 1 + m, num_classes=len(group) + 1)
    if section["arch"] == cfg["teacher"]["arch"]:
        init_from_generalist(specialist, generalist, group)
    else:
        fit_to_data(exp, specialist, section)
    settings = method_settings(cfg, "specialist", classes=group, full_classes=exp.data.num_classes)
    method = METHODS.build("specialist", teacher=generalist, student=specialist, num_classes=len(group) + 1,
                           image_shape=exp.data.image_shape, **settings)
    loader, sampled = enriched_loader(exp.data.splits.train, train_labels, group, cfg["specialists"]["enrich"],
                                      section["batch_size"] or cfg["data"]["batch_size"], exp.seed + m)
    distiller = make_distiller(exp, f"specialist_{m}", specialist, method, section, section["epochs"], len(loader),
                               "student.lr", teacher=generalist)
    distiller.fit(loader, section["epochs"], resume=exp.resume)
    finish_stage(exp, distiller, section, num_classes=len(group) + 1)
    return specialist, sampled


def main(argv=None):
    args = common_parser("Generalist + specialists with the combined inference of Hinton et al. 2015").parse_args(argv)
    cfg = load_specialists_config(args)
    own = cfg["specialists"]
    exp = prepare_experiment(args, cfg=cfg)
    check_groups_fit(own, exp.data.num_classes)
    exp = open_run(exp, args, "specialists")  # --resume: stages continue from last.pt

    generalist, _ = get_teacher(exp, stage="generalist")
    generalist.eval().requires_grad_(False)
    train_logits, _ = label_images(generalist, plain_training_images(exp), exp.device, exp.precision)
    train_labels = dataset_labels(exp.data.splits.train)
    groups = own["groups"] or covariance_groups(train_logits.softmax(-1), own["n_groups"], cfg["seed"])
    print(f"groups: {groups}")

    test_loader = exp.data.test_loader
    generalist_logits, test_labels = predict(generalist, test_loader, exp.device, precision=exp.precision)
    specialist_logits, rows = [], []
    for m, group in enumerate(groups):
        specialist, sampled = train_specialist(exp, m, group, generalist, train_labels)
        logits, _ = predict(specialist, test_loader, exp.device, precision=exp.precision)
        in_group = torch.isin(train_labels, torch.tensor(group)).float().mean().item()  # the prior it learnt under
        specialist_logits.append(correct_for_enrichment(logits, in_group, sampled) if own["enrich"] else logits)
        inside = torch.isin(test_labels, torch.tensor(group))
        generalist_acc = topk_accuracy(generalist_logits[inside], test_labels[inside], (1,))["top1"]
        rows.append({"specialist": m, "classes": group, "params": count_parameters(specialist),
                     "generalist_acc_on_group": generalist_acc,
                     "combined_acc_on_group": None})
    combined = combine_specialists(generalist_logits, specialist_logits, groups, own["top_n"])
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
         f"| generalist ({cfg['teacher']['arch']}) | {result['generalist_acc']:.2f} |",
         f"| generalist + {len(groups)} specialists (top_n={own['top_n']}) | {result['combined_acc']:.2f} |",
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
