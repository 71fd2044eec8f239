"""One teacher, then every listed method x seed on the same student: the result table of a pair.

    python -m kd.vision.scripts.method_table --config cifar10_resnet32x4_resnet8x4 \\
        data.root=/path/to/cifar10_imagefolder

Trains the teacher (or loads ``teacher.checkpoint``), then for each row of ``run.methods`` and each seed
in ``run.seeds`` trains a fresh student with that row's method on the ``student`` section's schedule and
evaluates it on the test set (every ``train.eval_every`` epochs and after the last), through
``method.inference_model(student)`` when the method defines one (SimKD deploys its projector and the teacher's
classifier). The config is every vision script's (image-classification/configs/default.yaml; its ``run:``
section is the table's own) and each run is a stage of :mod:`kd.vision.pipeline` (``train_stage``, as in
distill and compare): a folder ``<label>-seed<N>/`` under ``<runs-dir>/vision-<data.name>-method_table-<stamp>/``
(``-s<N>`` before the stamp when ``run.seeds`` is one seed; ``run.name`` is the table's title) (config,
metrics.json with the row's ``final`` record, plots/, checkpoints/ with last.pt and model.pt);
the table (mean +- std of the last-epoch accuracy over seeds) is printed and written to summary.md with its
plots embedded (accuracy per method with its spread over seeds, accuracy against parameters, learning curves);
``python -m kd.vision.scripts.report`` rebuilds both from the folders.

A row of ``run.methods`` is a label: the name of a method, trained with its section ``methods.<name>``
(image-classification/configs/default.yaml lists every method's keys, a preset or override changes them:
``methods.dkd.warmup=5``), or a label of ``run.variants``, ``{method: NAME, <argument>: value, ...}``: that
method with its section changed by those values (``run.variants.simkd_kl={method: simkd, loss: kl}``). The
label ``student`` is ``{method: supervised}``: the student trained alone. Every row trains on every label,
online or from the labelled views of ``run.views``: distill's keys for anything else (``student.labelled_fraction``,
``distill.mode``, ``distill.transfer_set``, ``distill.views``) and ``student.label_smoothing`` (the student row's is
``methods.supervised.label_smoothing``) are refused off their defaults (:data:`UNREAD`).

``data.train_subset`` / ``data.test_subset`` (a fixed random subset of that many images, the same for every
run) and the epoch counts make the shortened CPU schedules; leave them null for the full protocol.
``run.memo_teacher=true`` (with ``data.augment=false``, or on digits, which has no augmentation) computes the
teacher's logits and features once per training image for all the runs of the process
(:class:`~kd.vision.methods.memo_teacher.MemoTeacher`).
``run.views=K`` (images in memory) labels K crop/flip views of every training image with the teacher once for
the whole table (:mod:`~kd.vision.data.augmentation_cache`, in ``<root>/soft_labels/``): the runs of methods
that read only the teacher's logits (kd, dkd, ...) then draw their augmented images from those views and run
no teacher forward; methods that read its features (FitNet, AT, SP, SimKD) still run it on every batch.
``--resume ROOT`` continues an interrupted table: finished runs are kept, an interrupted one continues from
its ``last.pt``, the rest run.
The data set is decoded once for the whole table. The fast path, on a GPU and on a CPU: ``data.in_memory``
(``auto``: on for CIFAR-sized data; the images on the device as uint8, crop/flip there), ``train.precision``
(``auto``: bf16 autocast on GPUs and CPUs with native bf16), ``train.channels_last`` (``auto``: the same)
and ``train.compile=true`` (``torch.compile``).
Two processes can share the work: give each a part of ``run.methods``/``run.seeds`` and the same
``teacher.checkpoint``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kd.common.metrics import count_parameters
from kd.common.utils import distributed
from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import check_section, method_settings, variant_settings
from kd.common.utils.registry import meant
from kd.common.utils.run_folder import RunFolder
from kd.common.utils.seed import check_seed_list
from kd.common.utils.checkpoint import MODEL_CHECKPOINT, file_fingerprint
from kd.common.utils.config import flatten, load_yaml
from kd.vision.data.augmentation_cache import labelled_views_loader
from kd.vision.data.registry import augments
from kd.vision.methods import METHODS
from kd.vision.methods.memo_teacher import MemoTeacher
from kd.vision.methods.registry import SUPPLIED, WHAT
from kd.vision.pipeline import (DEFAULT_CONFIG, Experiment, build_arch, build_method, check_methods,
                                load_checked_model, load_experiment_config, open_run, place, prepare_experiment,
                                train_loader, train_stage)
from kd.vision.scripts.report import collect_runs, write_table

# What ``--resume`` cannot change: the finished runs of the table were made with these (load_run_config); an
# interrupted run's last.pt holds a lookahead average built with its section's ``lookahead``, and its flips follow
# ``data.flip`` (the alternating flip's epoch-0 draw decides the later epochs'); the finished rows and the labelled
# views (run.views) were cropped from images padded as ``data.crop_padding_mode`` says; the lr schedule and the
# lookahead count steps of the batch sizes.
FIXED_ON_RESUME = ("data.name", "data.image_size", "data.train_subset", "data.test_subset", "data.flip",
                   "data.crop_padding_mode", "data.batch_size", "teacher.batch_size", "student.batch_size",
                   "teacher.arch", "teacher.kwargs", "teacher.checkpoint",
                   "teacher.lookahead", "student.arch", "student.kwargs", "student.optimizer", "student.lookahead")

# Keys of distill and compare that the table's rows do not read, each refused off its default with what the table
# does instead: its rows train on every label, online or from the labelled views of run.views.
UNREAD = {"student.labelled_fraction": "every row trains on every label",
          "distill.mode": "each row reads its teacher online, or the labelled views of run.views",
          "distill.transfer_set": "every row trains on every label",
          "distill.views": "its key is run.views",
          "student.label_smoothing": "the student row's is methods.supervised.label_smoothing"}


def refuse_unread(cfg: dict) -> None:
    """A ConfigError for the first key of :data:`UNREAD` that ``cfg`` sets off default.yaml's value."""
    defaults, given = flatten(load_yaml(DEFAULT_CONFIG)), flatten(cfg)
    for key, instead in UNREAD.items():
        if given.get(key) != defaults[key]:
            raise ConfigError(f"{key}={given.get(key)!r} is not read by method_table ({instead}): drop it")


def row_method(cfg: dict, label: str) -> tuple[str, dict]:
    """``(method name, its arguments)`` of the table row ``label``: the variant ``run.variants[label]`` (a method and
    changes to its section), or the method called ``label`` with its ``methods.<label>`` section; checked against the
    method's constructor as every method section is (:mod:`kd.common.utils.method_sections`)."""
    variants = cfg["run"]["variants"]
    if label in variants:
        return variant_settings(cfg, METHODS, WHAT, variants[label], f"run.variants.{label}", SUPPLIED)
    if label not in METHODS:
        hint = meant(label, [*METHODS.names(), *variants])
        raise ConfigError(f"run.methods names '{label}'{hint}, which is neither a method "
                          f"({', '.join(METHODS.names())}) nor a row of run.variants ({', '.join(sorted(variants))})")
    settings = method_settings(cfg, label)
    check_section(METHODS, WHAT, label, settings, key=f"methods.{label}", supplied=SUPPLIED)
    return label, settings


def load_table_config(args) -> tuple[dict, dict[str, tuple[str, dict]]]:
    """The table's config (:func:`~kd.vision.pipeline.load_experiment_config`: ``--resume``'s saved one, or
    default.yaml < preset < overrides; ``--seed N`` is ``seed=N``, as in every script, and here also the seeds ``[N]``;
    on ``--resume`` it must be the table's seed) and its rows (label -> method name and arguments, checked against the
    method)."""
    cfg = load_experiment_config(args, fixed=FIXED_ON_RESUME)
    if args.seed is not None:
        cfg["run"]["seeds"] = [args.seed]
    check_seed_list(cfg["run"]["seeds"], "run.seeds")
    refuse_unread(cfg)
    if cfg["run"]["memo_teacher"] and augments(cfg["data"]):
        raise ConfigError("run.memo_teacher=true remembers the teacher's outputs per image, which is only right "
                          "without random augmentation: set data.augment=false too")
    return cfg, {label: row_method(cfg, label) for label in cfg["run"]["methods"]}


def train_row(exp: Experiment, label: str, method: tuple[str, dict], seed: int, section_name: str,
              teacher: nn.Module | None = None, views=None) -> Path:
    """Train the ``section_name`` section's model (``teacher`` or ``student``) from ``seed`` with ``method`` (its
    name and arguments) in the pipeline's stage ``<label>-seed<seed>``, then record the table's row in its
    metrics.json; return its checkpoint.

    A finished run is kept as it is; an interrupted one continues from its ``last.pt`` (``--resume``). ``views``
    (an augmentation-aware logit cache) replaces the teacher for methods that read only its logits."""
    stage, section, (name, settings) = f"{label}-seed{seed}", exp.cfg[section_name], method
    run = RunFolder(exp.run.path / stage, tensorboard=False)
    if run.final:
        print(f"{label} seed {seed}: finished earlier -> {run.path}")
        return run.checkpoints / MODEL_CHECKPOINT
    run.save_config({**exp.cfg, "label": label, "method": {"name": name}, "methods": {name: settings}, "seed": seed})
    loader = train_loader(exp, section["batch_size"], seed)
    if views is not None and not METHODS.get(name).uses_teacher_features:
        loader, teacher = loader.with_views(views), None
    model = build_arch(exp, section, seed)
    method = build_method(exp, name, settings, teacher, model)
    checkpoint = train_stage(exp, stage, model, method, section_name, loader, section["epochs"], teacher)
    deployed = method.inference_model(model)
    if deployed is not model and distributed.is_main():  # SimKD: student + projector + the teacher's classifier
        torch.save(method.state_dict(), run.checkpoints / "method.pt")
    run = RunFolder(run.path, tensorboard=False)  # with the history the stage wrote
    test_acc = run.history[-1]["test_acc"]
    run.log_final({"label": label, "method": name, "arch": section["arch"], "seed": seed, "test_acc": test_acc,
                   "params": count_parameters(deployed), "train_images": len(exp.data.splits.train),
                   "test_images": len(exp.data.splits.test), "epochs": section["epochs"]})
    print(f"{label} seed {seed}: test acc {test_acc:.2f}% -> {run.path}")
    return checkpoint


def prepare_table(args) -> tuple[Experiment, dict[str, tuple[str, dict]]]:
    """The table's experiment, without its folder yet, and its rows (:func:`load_table_config`): every check done
    first, of the config, the data and ``teacher.checkpoint`` (:func:`~kd.vision.pipeline.prepare_experiment`), of
    each row's method built on the models (:func:`~kd.vision.pipeline.check_methods`), and of ``run.views``' images
    in memory."""
    cfg, rows = load_table_config(args)
    exp = prepare_experiment(args, cfg=cfg)
    check_methods(exp, {f"run.methods row '{label}'": method for label, method in rows.items()})
    if cfg["run"]["views"] and needs_teacher(cfg) and not hasattr(exp.data.train_loader, "with_views"):
        raise ConfigError("run.views labels augmented views of images held in memory: set data.in_memory=true")
    return exp, rows


def needs_teacher(cfg: dict) -> bool:
    """Whether a listed method uses the teacher (with no methods listed the teacher is the table)."""
    methods = cfg["run"]["methods"]
    return not methods or any(METHODS.get(row_method(cfg, m)[0]).needs_teacher for m in methods)


def table_teacher(exp: Experiment) -> tuple[nn.Module | None, Path | None]:
    """``(teacher, its checkpoint)``: ``teacher.checkpoint`` (loaded and checked by the pipeline) or the row
    ``teacher`` trained here from the first seed, frozen (and memoised with ``run.memo_teacher``); ``(None, None)``
    when no listed method uses a teacher."""
    cfg = exp.cfg
    if not needs_teacher(cfg):
        return None, None
    if exp.given_teacher is not None:
        teacher, path = exp.given_teacher
    else:
        supervised = ("supervised", {"label_smoothing": cfg["teacher"]["label_smoothing"]})
        path = train_row(exp, "teacher", supervised, cfg["run"]["seeds"][0], "teacher")
        teacher = place(load_checked_model(exp, path, arch=cfg["teacher"]["arch"])[0], cfg["train"], exp.device)
    teacher.eval().requires_grad_(False)
    return (MemoTeacher(teacher) if cfg["run"]["memo_teacher"] else teacher), path


def labelled_views(exp: Experiment, teacher: nn.Module | None, teacher_checkpoint: Path | None):
    """The table's augmentation-aware logit cache (``run.views`` views per image), built once; None without."""
    views = exp.cfg["run"]["views"]
    if not views or teacher is None:
        return None
    fingerprint = file_fingerprint(teacher_checkpoint)
    cache = exp.run.path / "soft_labels" / f"{exp.data.name}-{fingerprint}-views{views}.pt"
    return labelled_views_loader(exp.data.train_loader, teacher, cache, fingerprint, views).views


def main(argv=None):
    args = common_parser("Teacher + every method x seed on one student: a result table").parse_args(argv)
    exp, rows = prepare_table(args)
    exp = open_run(exp, args, "method_table", exp.cfg["run"]["seeds"])
    cfg = exp.cfg
    teacher, teacher_checkpoint = table_teacher(exp)
    views = labelled_views(exp, teacher, teacher_checkpoint)
    for seed in cfg["run"]["seeds"]:  # seed-major: an interrupted table still has whole seeds of every method
        for label in cfg["run"]["methods"]:
            train_row(exp, label, rows[label], seed, "student", teacher, views)
    distributed.barrier()  # every run's final figures are on disk before the table reads them
    root = exp.run.path
    ordered = [path for label in ["teacher", *cfg["run"]["methods"]] for path in sorted(root.glob(f"{label}-seed*"))]
    print(write_table(collect_runs(ordered), exp.run, title=f"{cfg['run']['name']} on {exp.data.name}"))
    return root


if __name__ == "__main__":
    main_entry(main)
