"""One teacher, then every listed method x seed on the same student: the result table of a pair.

    python -m kd.vision.scripts.method_table --config cifar10_resnet32x4_resnet8x4 data.root=/path/to/cifar10_imagefolder

Trains the teacher (or loads ``teacher.checkpoint``), then for each row of ``run.methods`` and each seed
in ``run.seeds`` trains a fresh student with that row's method (SGD, momentum, weight decay, step decay at
``train.milestones``) and evaluates it on the test set, through ``method.inference_model(student)``
when the method defines one (SimKD deploys its projector and the teacher's classifier). Every run is a
run folder under ``<runs-dir>/<run.name>-<stamp>/`` (config, metrics.json, plots/, checkpoints/);
the table (mean +- std of the last-epoch accuracy over seeds) is printed and written to summary.md with its
plots embedded (accuracy per method with its spread over seeds, accuracy against parameters, learning curves);
``python -m kd.vision.scripts.report`` rebuilds both from the folders.

A row of ``run.methods`` is a label: the name of a method, trained with its section ``methods.<name>``
(image-classification/configs/default.yaml lists every method's keys, a preset or override changes them:
``methods.dkd.warmup=5``), or a label of ``run.variants``, ``{method: NAME, <argument>: value, ...}``: that
method with its section changed by those values (``run.variants.simkd_kl={method: simkd, loss: kl}``). The
label ``student`` is ``{method: supervised}``: the student trained alone.

``data.train_subset`` / ``data.test_subset`` (a fixed random subset of that many images, the same for every
run) and the epoch counts make the shortened CPU schedules; leave them null for the full protocol.
``run.memo_teacher=true`` (with ``data.augment=false``) computes the teacher's logits and features once per
training image for all the runs of the process (:class:`~kd.vision.methods.memo_teacher.MemoTeacher`).
``run.views=K`` (images in memory) labels K crop/flip views of every training image with the teacher once for
the whole table (:mod:`~kd.vision.data.augmentation_cache`, in ``<root>/soft_labels/``): the runs of methods
that read only the teacher's logits (kd, dkd, ...) then draw their augmented images from those views and run
no teacher forward; methods that read its features (FitNet, AT, SimKD) still run it on every batch.
``--resume ROOT`` continues an interrupted table: finished runs are kept, an interrupted one continues from
its ``last.pt``, the rest run.
The data set is decoded once for the whole table. The fast path, on a GPU and on a CPU: ``data.in_memory``
(``auto``: on for CIFAR-sized data; the images on the device as uint8, crop/flip there), ``train.precision``
(``auto``: bf16 autocast on CUDA and on CPUs with native bf16), ``train.channels_last`` (``auto``: the same)
and ``train.compile=true`` (``torch.compile``).
Two processes can share the work: give each a part of ``run.methods``/``run.seeds`` and the same
``teacher.checkpoint``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from torch.utils.data import Subset

from kd.common.engine import Distiller, predict
from kd.common.metrics import count_parameters, topk_accuracy
from kd.common.utils import distributed
from kd.common.utils.distributed import per_rank_batch_size
from kd.common.utils.cli import common_parser, exit_if_dry_run, main_entry
from kd.common.utils.config import load_config, load_run_config, load_yaml
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import plot_training_progress
from kd.common.utils.run_folder import RunFolder
from kd.common.utils.seed import seed_everything
from kd.vision.checkpoints import data_record, load_vision_model, save_vision_model
from kd.vision.data import VisionData, build_data, file_fingerprint, make_loader
from kd.vision.data.augmentation_cache import labelled_views_loader
from kd.vision.data.device_loader import device_resident, wants_in_memory
from kd.vision.methods import METHODS
from kd.vision.methods.memo_teacher import MemoTeacher
from kd.vision.model_registry import build_model, image_size_arg
from kd.vision.pipeline import CONFIG_DIR, DEFAULT_CONFIG, method_settings, optimisation, place
from kd.vision.scripts.report import collect_runs, write_table

SCHEDULE = {"epochs": 240, "batch_size": None, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": False,
            "weight_decay": 5e-4, "label_smoothing": 0.0, "schedule": "step", "milestones": [150, 180, 210],
            "gamma": 0.1}
DEFAULTS = {
    "data": {"name": "imagefolder", "root": None, "batch_size": 64, "eval_batch_size": 256, "num_workers": 0,
             "augment": True, "image_size": None, "train_subset": None, "test_subset": None, "in_memory": "auto",
             "crop_padding": None, "skip_bad_images": False, "allow_checkpoint_mismatch": False},
    "teacher": {"arch": "resnet32x4", "kwargs": {}, "checkpoint": None, **SCHEDULE},
    "student": {"arch": "resnet8x4", "kwargs": {}, **SCHEDULE},
    "train": {"eval_every": 0, "num_threads": None, "precision": "auto", "channels_last": "auto", "compile": False},
    "run": {"name": "method-table", "seeds": [0, 1, 2], "methods": ["student", "kd"], "memo_teacher": False,
            "views": 0, "variants": {"student": {"method": "supervised"}}},
    "methods": load_yaml(DEFAULT_CONFIG)["methods"],  # every method's settings: the vision defaults
}
# Mappings whose keys are free: architecture arguments, loss-term weights, the table's own rows.
OPEN_SECTIONS = ("teacher.kwargs", "student.kwargs", "methods.*.weights", "run.variants")
RENAMED = {"train.threads": "train.num_threads (as in every vision config)",
           "methods.*.name": "run.variants.<label>: {method: NAME, <argument>: value} (a row named after a method "
                             "needs no definition; its settings are methods.<name>.<argument>)",
           "methods.*.kwargs": "methods.<name>.<argument> (e.g. methods.dkd.warmup=5), or run.variants.<label>: "
                               "{method: NAME, <argument>: value} for a row with other settings"}


# What ``--resume`` cannot change: the finished runs of the table were made with these (load_run_config).
FIXED_ON_RESUME = ("data.name", "data.image_size", "data.train_subset", "data.test_subset", "teacher.arch",
                   "teacher.kwargs", "teacher.checkpoint", "student.arch", "student.kwargs", "student.optimizer")


def fixed_subset(dataset, size: int | None, seed: int = 0):
    """The same ``size`` random images of ``dataset`` for every run (None: all of it)."""
    if not size or size >= len(dataset):
        return dataset
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    return Subset(dataset, order[:size].tolist())


def load_data(cfg: dict, device: torch.device) -> VisionData:
    """The table's data, built once: the fixed subsets and their loaders (on the device with ``data.in_memory``)."""
    d = cfg["data"]
    data = build_data(d)
    splits = dataclasses.replace(data.splits, train=fixed_subset(data.splits.train, d["train_subset"]),
                                 train_plain=fixed_subset(data.splits.train_plain, d["train_subset"]),
                                 test=fixed_subset(data.splits.test, d["test_subset"]))
    data = VisionData(data.name, splits, make_loader(splits.train, d["batch_size"], True, 0, d["num_workers"]),
                      make_loader(splits.test, d["eval_batch_size"], False, 0, d["num_workers"]))
    if wants_in_memory(d["in_memory"], data.splits):
        data = device_resident(data, device)
    return data


def train_loader_for(data: VisionData, cfg: dict, seed: int, batch_size: int | None = None):
    """The training loader with the batch order (and augmentation) of ``seed``, in batches of ``batch_size``
    (a section's own; None: ``data.batch_size``)."""
    if hasattr(data.train_loader, "with_seed"):
        loader = data.train_loader.with_seed(seed)
        return loader.with_batch_size(per_rank_batch_size(batch_size)) if batch_size else loader
    return make_loader(data.splits.train, batch_size or cfg["data"]["batch_size"], True, seed,
                       cfg["data"]["num_workers"])


def finished(run_dir: Path) -> bool:
    """Whether a run folder holds a finished run (a ``final`` record in its metrics.json)."""
    metrics = run_dir / "metrics.json"
    return metrics.is_file() and bool(json.loads(metrics.read_text()).get("final"))


def row_method(cfg: dict, label: str) -> tuple[str, dict]:
    """``(method name, its arguments)`` of the table row ``label``: ``run.variants[label]`` (a method and changes to
    its section), or the method called ``label`` with its ``methods.<label>`` section; checked against the
    method's constructor."""
    variants = cfg["run"]["variants"]
    if label not in variants and label not in METHODS:
        raise ConfigError(f"run.methods names '{label}', which is neither a method ({', '.join(METHODS.names())}) "
                          f"nor a row of run.variants ({', '.join(sorted(variants))})")
    changes = dict(variants.get(label) or {"method": label})
    if "method" not in changes:
        raise ConfigError(f"run.variants.{label} needs its method: {{method: NAME, <argument>: value, ...}}")
    name = changes.pop("method")
    return name, method_settings(cfg, name, **changes)


def train_one(label: str, method: tuple[str, dict], cfg: dict, seed: int, teacher, root: Path, device,
              section: dict, data: VisionData, views=None) -> RunFolder:
    """Train ``section['arch']`` with ``method`` (its name and arguments) on ``section``'s schedule; evaluate;
    return the run folder.

    A finished run in ``root`` is kept as it is; an interrupted one continues from its ``last.pt``. ``views``
    (an augmentation-aware logit cache) replaces the teacher for methods that read only its logits."""
    run_dir = root / f"{label}-seed{seed}"
    if finished(run_dir):
        print(f"{label} seed {seed}: finished earlier -> {run_dir}")
        return RunFolder(run_dir, tensorboard=False)
    seed_everything(seed)
    train_loader, test_loader = train_loader_for(data, cfg, seed, section["batch_size"]), data.test_loader
    name, settings = method
    if views is not None and not METHODS.get(name).uses_teacher_features:
        train_loader, teacher = train_loader.with_views(views), None
    arch, epochs = section["arch"], section["epochs"]
    student = place(build_model(arch, data.num_classes, data.image_shape[0], image_size_arg(data.image_shape),
                                **section["kwargs"]), cfg["train"], device)
    method = METHODS.build(name, teacher=teacher, student=student, num_classes=data.num_classes,
                           image_shape=data.image_shape, **settings).to(device)
    params = [p for p in list(student.parameters()) + list(method.parameters()) if p.requires_grad]
    optimizer, scheduler, interval = optimisation(params, section, epochs, len(train_loader))
    run = RunFolder(run_dir)
    run.save_config({**cfg, "label": label, "method": {"name": name}, "methods": {name: settings}, "seed": seed})
    deployed = method.inference_model(student)
    eval_every = cfg["train"]["eval_every"]

    def evaluate(epoch: int) -> dict:
        if epoch != epochs and not (eval_every and epoch % eval_every == 0):
            return {}
        logits, labels = predict(deployed, test_loader, device, precision=cfg["train"]["precision"])
        return {"test_acc": topk_accuracy(logits, labels, (1,))["top1"]}

    lr_key = "teacher.lr" if label == "teacher" else "student.lr"
    distiller = Distiller(student, method, optimizer, device=device, teacher=teacher, scheduler=scheduler,
                          scheduler_interval=interval, run=run, precision=cfg["train"]["precision"],
                          resume_advice=f"lower the learning rate and continue the table from the last checkpoint: "
                                        f"--resume {root} {lr_key}=<lower>")
    history = distiller.fit(train_loader, epochs, evaluate=evaluate, resume=True)
    if distributed.is_main():  # under torchrun rank 0 writes; the others wait for the files below
        save_vision_model(student, run.checkpoints / "model.pt", arch, data.num_classes, data.image_shape,
                          section["kwargs"], **data_record(data))
        if deployed is not student:  # SimKD: the deployable model is student + projector + teacher classifier
            torch.save(method.state_dict(), run.checkpoints / "method.pt")
        plot_training_progress(history, run.plots, title=f"{label} (seed {seed})")
    distributed.barrier()
    run.log_final({"label": label, "method": name, "arch": arch, "seed": seed,
                   "test_acc": history[-1]["test_acc"], "params": count_parameters(deployed),
                   "train_images": len(data.splits.train), "test_images": len(data.splits.test),
                   "epochs": epochs})
    run.close()
    print(f"{label} seed {seed}: test acc {history[-1]['test_acc']:.2f}% -> {run.path}")
    return run


def needs_teacher(cfg: dict) -> bool:
    """Whether a listed method uses the teacher (with no methods listed the teacher is the table)."""
    methods = cfg["run"]["methods"]
    return not methods or any(METHODS.get(row_method(cfg, m)[0]).needs_teacher for m in methods)


def load_teacher(cfg: dict, data: VisionData):
    """``teacher.checkpoint``, checked against ``teacher.arch`` and the data (unless
    ``data.allow_checkpoint_mismatch``)."""
    return load_vision_model(cfg["teacher"]["checkpoint"], arch=cfg["teacher"]["arch"], num_classes=data.num_classes,
                             data=data, allow_other_data=cfg["data"]["allow_checkpoint_mismatch"])[0]


def get_teacher(cfg: dict, root: Path, device, data: VisionData, given=None):
    """The ``given`` teacher (``teacher.checkpoint``, loaded by :func:`load_teacher`), or one trained here;
    None when no listed method uses a teacher."""
    if not needs_teacher(cfg):
        return None
    if given is None:
        supervised = ("supervised", {"label_smoothing": cfg["teacher"]["label_smoothing"]})
        run = train_one("teacher", supervised, cfg, cfg["run"]["seeds"][0], None, root, device, cfg["teacher"], data)
        cfg["teacher"]["checkpoint"] = str(run.path / "checkpoints" / "model.pt")
        given = load_teacher(cfg, data)
    teacher = place(given, cfg["train"], device).eval().requires_grad_(False)
    if not cfg["run"]["memo_teacher"]:
        return teacher
    if cfg["data"]["augment"]:
        raise ConfigError("run.memo_teacher=true remembers the teacher's outputs per image, which is only right "
                          "without random augmentation: set data.augment=false too")
    return MemoTeacher(teacher)


def labelled_views(cfg: dict, teacher, root: Path, data: VisionData):
    """The table's augmentation-aware logit cache (``run.views`` views per image), built once; None without."""
    views = cfg["run"]["views"]
    if not views or teacher is None:
        return None
    if not hasattr(data.train_loader, "with_views"):
        raise ConfigError("run.views labels augmented views of images held in memory: set data.in_memory=true")
    fingerprint = file_fingerprint(cfg["teacher"]["checkpoint"])
    loader = labelled_views_loader(data.train_loader, teacher, root / "soft_labels" / f"{data.name}-{fingerprint}"
                                   f"-views{views}.pt", fingerprint, views)
    return loader.views


def load_table_config(args) -> tuple[dict, dict[str, tuple[str, dict]]]:
    """The table's config (``--resume``'s saved one, or DEFAULTS < preset < overrides; ``--seed N``: the seeds
    ``[N]``) and its rows (label -> method name and arguments, checked against the method)."""
    if args.resume:
        cfg = load_run_config(args.resume, args.overrides, fixed=FIXED_ON_RESUME, open_sections=OPEN_SECTIONS,
                              renamed=RENAMED)
    else:
        cfg = load_config(args.config, args.overrides, defaults=DEFAULTS, config_dir=CONFIG_DIR,
                          open_sections=OPEN_SECTIONS, renamed=RENAMED)
    if args.seed is not None:
        cfg["run"]["seeds"] = [args.seed]
    return cfg, {label: row_method(cfg, label) for label in cfg["run"]["methods"]}


def main(argv=None):
    args = common_parser("Teacher + every method x seed on one student: a result table").parse_args(argv)
    cfg, rows = load_table_config(args)
    if cfg["train"]["num_threads"]:
        torch.set_num_threads(cfg["train"]["num_threads"])
    device = resolve_device(args.device)
    data = load_data(cfg, device)
    given = load_teacher(cfg, data) if cfg["teacher"]["checkpoint"] and needs_teacher(cfg) else None
    exit_if_dry_run(args.dry_run, cfg)
    table_run = RunFolder(args.resume, tensorboard=False) if args.resume else \
        RunFolder.create(cfg["run"]["name"], args.runs_dir, tensorboard=False)
    root = table_run.path
    if not args.resume:
        table_run.save_config(cfg)
    print(f"run folder: {root}")
    teacher = get_teacher(cfg, root, device, data, given)
    views = labelled_views(cfg, teacher, root, data)
    for seed in cfg["run"]["seeds"]:  # seed-major: an interrupted table still has whole seeds of every method
        for label in cfg["run"]["methods"]:
            train_one(label, rows[label], cfg, seed, teacher, root, device, cfg["student"], data, views)
    distributed.barrier()  # every run's final figures are on disk before the table reads them
    ordered = [path for label in ["teacher", *cfg["run"]["methods"]] for path in sorted(root.glob(f"{label}-seed*"))]
    table = write_table(collect_runs(ordered), table_run, title=f"{cfg['run']['name']} on {data.name}")
    print(table)
    return root


if __name__ == "__main__":
    main_entry(main)
