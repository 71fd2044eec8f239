"""The flow of a vision experiment, shared by the scripts:

config (preset + overrides) -> data -> teacher (train, or load a checkpoint) -> student distilled in one
of three modes -> evaluation, each training stage in its own sub-folder of the run folder
(``teacher/``, ``student_kd/``, ``student_alone/``, ``guide_teacher/``) with its ``last.pt`` for --resume.

Distillation modes (``distill.mode``):
- ``online``: the frozen teacher runs on every (augmented) batch.
- ``offline``: the teacher labels the un-augmented training set once; its logits are cached on disk
  (keyed by the teacher checkpoint's hash) and the student trains on (image, label, teacher_logits).
- ``guide``: ``distill.rounds`` rounds of: the teacher trains ``teacher_epochs_per_round`` more epochs,
  relabels the training set, then the student trains ``student_epochs_per_round`` epochs on the fresh
  soft labels.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.utils.data import Subset

from kd.common.engine import DistillationMethod, Distiller, predict
from kd.common.engine.lookahead import Lookahead, lookahead_settings
from kd.common.utils.cli import exit_if_dry_run
from kd.common.utils.checkpoint import MODEL_CHECKPOINT, file_fingerprint
from kd.common.utils.device import prepare_model, resolve_device, set_threads
from kd.common.utils import distributed
from kd.common.utils.distributed import per_rank_batch_size
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import check_method_sections, method_settings
from kd.common.utils.paths import require_writable_folder
from kd.common.utils.plotting import plot_training_progress
from kd.common.utils.registry import Registry, check_arguments
from kd.common.utils.run_folder import RunFolder, run_name
from kd.common.utils.script_config import load_script_config
from kd.common.utils.seed import seed_everything
from kd.vision.checkpoints import data_record, load_vision_model, save_vision_model
from kd.vision.data import SoftLabelDataset, VisionData, build_data, cached_soft_labels
from kd.vision.data import label_images, make_loader
from kd.vision.data.soft_labels import LABEL_BATCH, labelling_loader
from kd.vision.data.labelled import WithLabels, dataset_labels, labelled_indices, masked_labels
from kd.vision.data.augmentation_cache import labelled_views_loader
from kd.vision.data.device_loader import check_flip_mode, device_resident, wants_in_memory
from kd.vision.data.transforms import check_crop_padding_mode
from kd.vision.methods import METHODS
from kd.vision.methods.registry import SUPPLIED, WHAT
from kd.vision.model_registry import MODELS, build_model, image_size_arg, rebuild_model
from kd.vision.report import Evaluation, cost, mean_over_seeds, quality
from kd.vision.torchvision_models import fetch_published_weights

CONFIG_DIR = Path(__file__).parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


# ------------------------------------------------------------------------------------------------ set-up
@dataclass
class Experiment:
    cfg: dict
    device: torch.device
    data: VisionData
    resume: bool
    run: RunFolder | None = None  # set by open_run, once every input has been checked
    seed_of_students: int | None = None  # set by for_student_seed; None: the config's seed
    given_teacher: tuple[nn.Module, Path] | None = None  # teacher.checkpoint, loaded and checked

    @property
    def seed(self) -> int:
        return self.cfg["seed"]

    @property
    def precision(self) -> str:
        """``train.precision``: training, evaluation and teacher labelling all run at it."""
        return self.cfg["train"]["precision"]

    @property
    def student_seed(self) -> int:
        """The seed of the students being trained: their initialisation, batch order and labelled part."""
        return self.seed if self.seed_of_students is None else self.seed_of_students

    def for_student_seed(self, seed: int) -> "Experiment":
        """The same experiment training its students with ``seed`` (the teacher is shared)."""
        return dataclasses.replace(self, seed_of_students=seed)

    def stage(self, name: str) -> str:
        """A student stage's sub-folder: ``name``, suffixed ``-seed<N>`` for seeds other than the config's."""
        return name if self.student_seed == self.seed else f"{name}-seed{self.student_seed}"


# What a resumed run cannot change: its checkpoints and soft labels were made with these (load_run_config). The
# lookahead settings too: last.pt's average was built with them (their ramp and the tensors it holds); data.flip:
# the alternating flip's epoch-0 draw decides every later epoch's flips; and data.crop_padding_mode: the checkpoints
# and the labelled views (distill.views) were trained on and cut from crops padded so; the batch sizes: the lr
# schedule and the lookahead count steps (kd.common.engine.Distiller).
FIXED_ON_RESUME = ("seed", "data.name", "data.image_size", "data.test_fraction", "data.train_subset",
                   "data.test_subset", "data.flip", "data.crop_padding_mode", "data.batch_size", "teacher.batch_size",
                   "student.batch_size", "teacher.arch", "teacher.kwargs",
                   "teacher.checkpoint", "teacher.optimizer", "teacher.lookahead", "student.arch", "student.kwargs",
                   "student.optimizer", "student.lookahead", "student.labelled_fraction", "method", "methods",
                   "distill.mode", "distill.transfer_set", "distill.views")
# Mappings whose keys are free: an architecture's extra arguments, a method's loss-term weights, method_table's rows.
OPEN_SECTIONS = ("teacher.kwargs", "student.kwargs", "methods.*.weights", "run.variants")
# Keys of earlier versions, refused with their new names.
RENAMED = {"method.kwargs": "methods.<name>.<argument> (e.g. methods.kd.temperature=4): each method has its own "
                            "section in image-classification/configs/default.yaml",
           "train.threads": "threads (top level, as in every domain)",
           "train.num_threads": "threads (top level, as in every domain)",
           "methods.*.name": "run.variants.<label>: {method: NAME, <argument>: value} (a row named after a method "
                             "needs no definition; its settings are methods.<name>.<argument>)",
           "methods.*.kwargs": "methods.<name>.<argument> (e.g. methods.dkd.warmup=5), or run.variants.<label>: "
                               "{method: NAME, <argument>: value} for a row with other settings"}


def load_experiment_config(args: argparse.Namespace, default_preset: str | None = None,
                           fixed: tuple[str, ...] = FIXED_ON_RESUME, renamed: dict | None = None) -> dict:
    """The config of every vision script: :func:`~kd.common.utils.script_config.load_script_config` over
    default.yaml (``--resume``'s saved config plus overrides, else default.yaml < preset (a name in configs/, by default
    ``default_preset``, or a path) < overrides; ``--seed N`` is ``seed=N``, and on ``--resume`` must be the run's),
    with vision's open sections. ``fixed``: what ``--resume`` cannot change (default FIXED_ON_RESUME); ``renamed``:
    the old keys refused with their new names (default RENAMED; a script with old keys of its own adds them, as
    specialists does)."""
    return load_script_config(args, DEFAULT_CONFIG, CONFIG_DIR, preset=default_preset, open_sections=OPEN_SECTIONS,
                              renamed=RENAMED if renamed is None else renamed, fixed=fixed)


DATA_INITS = ("first_batch", "training_set")  # what a model with a data-dependent layer fits it on: data_init


def check_training_section(section: dict, name: str) -> None:
    """Fail before any training on an unknown model, optimiser, schedule or ``data_init`` name in the section ``name``
    that trains a model (``teacher``, ``student``), on a model argument its constructor does not take, or on a
    ``lookahead`` setting it does not have (:func:`~kd.common.engine.lookahead.lookahead_settings`)."""
    check_arguments(MODELS, section["arch"], supplied=("num_classes", "in_channels", "image_size"), num_classes=1,
                    in_channels=1, image_size=1, **section["kwargs"])
    OPTIMIZERS.get(section["optimizer"])
    SCHEDULES.get(section["schedule"])
    lookahead_settings(section["lookahead"], f"{name}.lookahead")
    if section["data_init"] not in DATA_INITS:
        raise ConfigError(f"unknown {name}.data_init '{section['data_init']}'; choose one of: {', '.join(DATA_INITS)}")


def check_names(cfg: dict) -> None:
    """Fail before any training on an unknown model, method, mode, optimiser, schedule, ``data.flip`` or
    ``data.crop_padding_mode`` name, on a method that cannot follow guide mode's training teacher
    (``copies_teacher``), or on a model/method argument its constructor does not take (every section
    ``methods.<name>`` checked as NLP and RL check theirs:
    :func:`~kd.common.utils.method_sections.check_method_sections`)."""
    for section in ("teacher", "student"):
        check_training_section(cfg[section], section)
    check_method_sections(cfg, METHODS, WHAT, SUPPLIED)
    DISTILL_MODES.get(cfg["distill"]["mode"])
    check_flip_mode(cfg["data"]["flip"])
    check_crop_padding_mode(cfg["data"]["crop_padding_mode"])
    check_labelled_part(cfg)
    name = cfg["method"]["name"]
    if cfg["distill"]["mode"] == "guide" and METHODS.get(name).copies_teacher:
        raise ConfigError(f"method.name={name} keeps a copy of the teacher's classifier made before distilling, and "
                          "guide mode trains the teacher further: the copy would not follow it; use "
                          "distill.mode=online or offline")


TRANSFER_SETS = ("labelled", "all")


def check_labelled_part(cfg: dict) -> None:
    """``student.labelled_fraction`` in (0, 1], a known ``distill.transfer_set``, and a method that can learn
    from unlabelled images when the transfer set has some."""
    fraction, transfer_set = cfg["student"]["labelled_fraction"], cfg["distill"]["transfer_set"]
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"student.labelled_fraction must be in (0, 1], got {fraction}")
    if transfer_set not in TRANSFER_SETS:
        raise ConfigError(f"unknown distill.transfer_set '{transfer_set}'; choose one of: {', '.join(TRANSFER_SETS)}")
    if fraction < 1.0 and transfer_set == "all" and not METHODS.get(cfg["method"]["name"]).learns_from_unlabelled:
        raise ConfigError(f"method.name={cfg['method']['name']} needs the label of every image it distils on; "
                          "with student.labelled_fraction < 1 set distill.transfer_set=labelled")
    if fraction < 1.0 and transfer_set == "labelled" and cfg["distill"]["views"]:
        raise ConfigError("distill.views labels augmented views of every training image; with "
                          "student.labelled_fraction < 1 it needs distill.transfer_set=all")


def start_experiment(args: argparse.Namespace, script: str, check: Callable[[dict], None] | None = None,
                     load_teacher: bool = True, distils: bool = False) -> Experiment:
    """:func:`prepare_experiment`, then :func:`open_run` for a run of the config's ``seed``: every input is checked
    before the folder is made."""
    return open_run(prepare_experiment(args, check=check, load_teacher=load_teacher, distils=distils), args, script)


def prepare_experiment(args: argparse.Namespace, check: Callable[[dict], None] | None = None,
                       load_teacher: bool = True, cfg: dict | None = None, distils: bool = False) -> Experiment:
    """Config, device, data and (``load_teacher``) the ``teacher.checkpoint``, checked against the data; no
    run folder yet, so any mistake in them leaves nothing behind. ``check(cfg)``: the script's own checks;
    ``cfg``: the config when the script loaded it itself (default: :func:`load_experiment_config`); ``distils``:
    the script distils with ``method.name``, whose method is built once on the models here (:func:`check_methods`)."""
    cfg = load_experiment_config(args) if cfg is None else cfg
    check_names(cfg)
    if check is not None:
        check(cfg)
    exp = build_experiment(cfg, args)
    if cfg["distill"]["views"] and not hasattr(exp.data.train_loader, "with_views"):
        raise ConfigError("distill.views (labelled augmented views) needs the images in memory: data.in_memory=true")
    if cfg["distill"]["mode"] == "offline" and cfg["distill"]["cache_dir"]:  # the soft labels' (and views') cache
        require_writable_folder(soft_label_folder(cfg, None), "distill.cache_dir")
    if load_teacher and cfg["teacher"]["checkpoint"]:
        path = Path(cfg["teacher"]["checkpoint"])
        model, _ = load_checked_model(exp, path, arch=cfg["teacher"]["arch"])
        exp.given_teacher = (place(model, cfg["train"], exp.device), path)
    for section in ("student",) if exp.given_teacher else ("teacher", "student"):  # published weights, before the run
        fetch_published_weights(cfg[section]["arch"], cfg[section]["kwargs"])       # folder: offline is one line
    if distils:
        check_methods(exp, {f"method.name={cfg['method']['name']}": (cfg["method"]["name"], method_settings(cfg))})
    return exp


def check_methods(exp: Experiment, methods: Mapping[str, tuple[str, dict]]) -> None:
    """Build each method of ``methods`` (what the config calls it, e.g. ``method.name=fitnet`` -> its name and
    settings) once on this experiment's models, before the run folder exists: what its constructor refuses (a
    feature method on a model with no stage maps, a stage index out of range) is then a one-line ConfigError naming
    it, not an error after the teacher has trained. The models: the loaded ``teacher.checkpoint`` or a fresh
    ``teacher`` architecture, and a fresh ``student`` one, built on the CPU with the global RNG left as it was."""
    cfg = exp.cfg
    with torch.random.fork_rng(devices=[]):
        teacher = exp.given_teacher[0] if exp.given_teacher else untrained_model(exp, cfg["teacher"])
        student = untrained_model(exp, cfg["student"])
        for what, (name, settings) in methods.items():
            try:
                build_method(exp, name, settings, teacher, student)
            except ValueError as error:
                raise ConfigError(f"{what} cannot be built with student.arch={cfg['student']['arch']} and "
                                  f"teacher.arch={cfg['teacher']['arch']}: {error}") from None


def build_experiment(cfg: dict, args: argparse.Namespace) -> Experiment:
    """The experiment of a checked config: seeded, on ``--device`` with ``threads`` torch CPU threads, and its data
    built once (in the device's memory with ``data.in_memory``); ``--resume`` says whether its stages continue."""
    seed_everything(cfg["seed"])
    set_threads(cfg["threads"])
    device = resolve_device(args.device)
    data = build_data(cfg["data"], seed=cfg["seed"])
    if wants_in_memory(cfg["data"]["in_memory"], data.splits):
        data = device_resident(data, device, seed=cfg["seed"], flip_mode=cfg["data"]["flip"])
    elif cfg["data"]["flip"] == "alternate":
        raise ConfigError("data.flip=alternate is done by the in-memory loader only, and these images are not in "
                          "memory: set data.in_memory=true, or data.flip=random")
    return Experiment(cfg=cfg, device=device, data=data, resume=bool(args.resume))


def untrained_model(exp: Experiment, section: dict) -> nn.Module:
    """The model a config section (``teacher`` or ``student``) names, for this experiment's data, randomly initialised
    on the CPU (published ``weights`` left out): what a check builds a method on."""
    shape = exp.data.image_shape
    return rebuild_model(section["arch"], num_classes=exp.data.num_classes, in_channels=shape[0],
                         image_size=image_size_arg(shape), **section["kwargs"])


def load_checked_model(exp: Experiment, path: str | Path, arch: str | None = None) -> tuple[nn.Module, dict]:
    """A model checkpoint for this experiment's data: its classes, and unless ``data.allow_checkpoint_mismatch``
    the data set, class names, input shape and normalisation it was trained with."""
    return load_vision_model(path, arch=arch, num_classes=exp.data.num_classes, data=exp.data,
                             allow_other_data=exp.cfg["data"]["allow_checkpoint_mismatch"])


def open_run(exp: Experiment, args: argparse.Namespace, script: str,
             seeds: Sequence[int] | None = None) -> Experiment:
    """The experiment with its run folder: ``--resume``'s, or a new
    ``<runs-dir>/vision-<data.name>-<script>[-s<seed>]-<YYYYmmdd-HHMMSS>``
    (:func:`~kd.common.utils.run_folder.run_name`; ``-s<seed>`` when the run trains one seed: ``seeds``, default the
    config's ``seed``); its config.yaml is the config it runs. With ``--dry-run`` it prints that config and exits
    instead, having created nothing."""
    exit_if_dry_run(args.dry_run, exp.cfg)
    seeds = [exp.seed] if seeds is None else list(seeds)
    name = run_name("vision", exp.cfg["data"]["name"], script, seeds[0] if len(seeds) == 1 else None)
    run = RunFolder(args.resume) if args.resume else RunFolder.create(name, args.runs_dir)
    run.save_config(exp.cfg)
    print(f"run folder: {run.path}")
    return dataclasses.replace(exp, run=run)


# ------------------------------------------------------------------------------------ optimiser, models
OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optimizer")
OPTIMIZERS.register("sgd")(lambda params, s, lr: torch.optim.SGD(
    params, lr=lr, momentum=s["momentum"], weight_decay=s["weight_decay"], nesterov=s.get("nesterov", False)))
OPTIMIZERS.register("adam")(lambda params, s, lr: torch.optim.Adam(params, lr=lr, weight_decay=s["weight_decay"]))
OPTIMIZERS.register("adamw")(lambda params, s, lr: torch.optim.AdamW(params, lr=lr, weight_decay=s["weight_decay"]))


def triangle(total_steps: int, start: float = 0.2, peak_at: float = 0.23, end: float = 0.07):
    """lr factor of step i: linear from ``start`` to 1 over the first ``peak_at`` of the steps, then linear to
    ``end`` (airbench94's schedule, Jordan 2024)."""
    peak = max(1, round(peak_at * total_steps))

    def factor(step: int) -> float:
        if step <= peak:
            return start + (1.0 - start) * step / peak
        return 1.0 + (end - 1.0) * min(1.0, (step - peak) / max(1, total_steps - peak))

    return factor


# A schedule: (optimizer, section, epochs, steps per epoch) -> (scheduler or None, "epoch" | "step")
SCHEDULES: Registry = Registry("lr schedule")
SCHEDULES.register("constant")(lambda opt, s, epochs, steps: (None, "epoch"))
SCHEDULES.register("cosine")(
    lambda opt, s, epochs, steps: (torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs)), "epoch"))
SCHEDULES.register("step")(
    lambda opt, s, epochs, steps: (torch.optim.lr_scheduler.MultiStepLR(opt, s["milestones"], s["gamma"]), "epoch"))
SCHEDULES.register("triangle")(
    lambda opt, s, epochs, steps: (torch.optim.lr_scheduler.LambdaLR(opt, triangle(epochs * steps)), "step"))


def optimisation(params, section: dict, epochs: int, steps_per_epoch: int, lr: float | None = None,
                 schedule: str | None = None) -> tuple[torch.optim.Optimizer, object, str]:
    """``(optimizer, scheduler, interval)`` of a config section (``teacher`` or ``student``): its optimizer at
    ``lr`` (default ``section["lr"]``) and its lr schedule over ``epochs`` of ``steps_per_epoch`` steps, stepped
    per ``interval`` ("epoch" or "step")."""
    optimizer = OPTIMIZERS.get(section["optimizer"])(params, section, lr or section["lr"])
    scheduler, interval = SCHEDULES.get(schedule or section["schedule"])(optimizer, section, epochs, steps_per_epoch)
    return optimizer, scheduler, interval


def build_arch(exp: Experiment, section: dict, seed: int, num_classes: int | None = None) -> nn.Module:
    """The model a config section (``teacher`` or ``student``) names, initialised from ``seed``, with
    ``num_classes`` outputs (None: the data's classes)."""
    seed_everything(seed)
    shape = exp.data.image_shape
    model = build_model(section["arch"], num_classes or exp.data.num_classes, shape[0], image_size_arg(shape),
                        **section["kwargs"])
    return place(model, exp.cfg["train"], exp.device)


def place(model: nn.Module, train: dict, device: torch.device) -> nn.Module:
    """``model`` on ``device`` with the ``train`` section's ``channels_last`` and ``compile`` applied."""
    return prepare_model(model, device, channels_last=train["channels_last"], compile=train["compile"])


def student_epochs(cfg: dict) -> int:
    """Epochs the distilled student trains (guide mode: rounds x epochs per round)."""
    d = cfg["distill"]
    return d["rounds"] * d["student_epochs_per_round"] if d["mode"] == "guide" else cfg["student"]["epochs"]


# ------------------------------------------------------------------------------- the students' images
def student_loader(exp: Experiment, distilled: bool, teacher_logits_cache: Tensor | None = None):
    """The training batches of a student of ``exp.student_seed``: every image; or, with
    ``student.labelled_fraction < 1``, the labelled part, or for the distilled student with
    ``distill.transfer_set: all`` every image, those outside the labelled part labelled ``UNLABELLED``
    (data/labelled.py). ``teacher_logits_cache`` (offline mode) adds each image's cached teacher logits."""
    section, seed = exp.cfg["student"], exp.student_seed
    fraction, batch_size = section["labelled_fraction"], section["batch_size"]
    train = exp.data.train_loader
    if fraction >= 1.0 and teacher_logits_cache is None:
        return train_loader(exp, batch_size, seed)
    labels = train.labels.cpu() if hasattr(train, "labels") else dataset_labels(exp.data.splits.train)
    labelled = labelled_indices(labels, fraction, seed) if fraction < 1.0 else None
    keep_all = labelled is None or (distilled and exp.cfg["distill"]["transfer_set"] == "all")
    if hasattr(train, "with_seed"):  # the device-resident loader (data/device_loader.py)
        loader = train_loader(exp, batch_size, seed)
        if teacher_logits_cache is not None:
            loader = loader.with_teacher_logits(teacher_logits_cache)
        if labelled is None:
            return loader
        return loader.with_labels(masked_labels(labels, labelled)) if keep_all else loader.subset(labelled)
    dataset = exp.data.splits.train
    if teacher_logits_cache is not None:
        dataset = SoftLabelDataset(dataset, teacher_logits_cache)
    if labelled is not None:
        if keep_all:
            dataset = WithLabels(dataset, masked_labels(labels, labelled))
        else:
            dataset = Subset(dataset, labelled.tolist())
    d = exp.cfg["data"]
    return make_loader(dataset, batch_size or d["batch_size"], True, seed, d["num_workers"])


def train_loader(exp: Experiment, batch_size: int | None, seed: int):
    """Every training image in batches of ``batch_size`` (a section's own; None: ``data.batch_size``), in the
    order and with the augmentation of ``seed`` (in memory: a copy of the loader, sharing its images)."""
    loader = exp.data.train_loader
    if hasattr(loader, "with_seed"):
        loader = loader.with_seed(seed)
        return loader.with_batch_size(per_rank_batch_size(batch_size)) if batch_size else loader
    d = exp.cfg["data"]
    return make_loader(exp.data.splits.train, batch_size or d["batch_size"], True, seed, d["num_workers"])


def alone_epochs(exp: Experiment) -> int:
    """Epochs of the student alone: the distilled student's, scaled so that both take the same number of
    optimiser steps when the distilled one also trains on a transfer set of unlabelled images."""
    epochs = student_epochs(exp.cfg)
    if exp.cfg["student"]["labelled_fraction"] >= 1.0 or exp.cfg["distill"]["transfer_set"] != "all":
        return epochs
    return math.ceil(epochs * len(student_loader(exp, distilled=True)) / len(student_loader(exp, distilled=False)))


# ------------------------------------------------------------------------------------------ one stage
def make_distiller(exp: Experiment, stage: str, model: nn.Module, method: nn.Module, section: dict, epochs: int,
                   steps_per_epoch: int, lr_key: str, teacher: nn.Module | None = None, schedule: str | None = None,
                   lr: float | None = None) -> Distiller:
    """A :class:`Distiller` for one training stage, logging into ``<run>/<stage>/``; ``lr_key`` is the config key
    of its learning rate (what the advice after a diverging loss tells the user to lower)."""
    method.to(exp.device)
    params = [p for p in list(model.parameters()) + list(method.parameters()) if p.requires_grad]
    optimizer, scheduler, interval = optimisation(params, section, epochs, steps_per_epoch, lr, schedule)
    train = exp.cfg["train"]
    advice = f"lower the learning rate and continue from the last checkpoint: --resume {exp.run.path} {lr_key}=<lower>"
    settings = lookahead_settings(section["lookahead"], "lookahead")
    lookahead = Lookahead([model, method], epochs * steps_per_epoch, **settings) if settings else None
    return Distiller(model, method, optimizer, device=exp.device, teacher=teacher, scheduler=scheduler,
                     scheduler_interval=interval, run=RunFolder(exp.run.path / stage), precision=train["precision"],
                     grad_clip=train["grad_clip"], log_every=train["log_every"], resume_advice=advice,
                     lookahead=lookahead)


def test_evaluator(exp: Experiment, model: nn.Module, epochs: int,
                   teacher_test_logits: Tensor | None = None) -> Callable[[int], dict]:
    """Per-epoch callback of a stage of ``epochs`` epochs: test accuracy (and agreement with the teacher when its
    test logits are given) every ``train.eval_every`` epochs and after the last; nothing after the others."""
    every = exp.cfg["train"]["eval_every"]

    def evaluate(epoch: int) -> dict:
        if epoch != epochs and not (every and epoch % every == 0):
            return {}
        report = quality(model, exp.data.test_loader, exp.device, teacher_test_logits, exp.precision)[0]
        return {f"test_{k}": v for k, v in report.items() if k in ("acc", "agreement")}
    return evaluate


def finish_stage(exp: Experiment, distiller: Distiller, section: dict, num_classes: int | None = None) -> Path:
    """Save the stage's model (arch + kwargs, ``num_classes`` outputs; None: the data's classes), plot its training
    curves and close its run folder; return the checkpoint path. A student that its method deploys inside a model
    of its own (SimKD's) is marked so (``meta["deployed_in"]``): the file lacks those parts, and loading it is
    refused (:func:`~kd.vision.checkpoints.load_vision_model`)."""
    run = distiller.run
    path = run.checkpoints / MODEL_CHECKPOINT
    deployed = distiller.method.inference_model(distiller.student)
    deployed_in = {"deployed_in": type(deployed).__name__} if deployed is not distiller.student else {}
    if distributed.is_main():  # under torchrun rank 0 writes; every rank waits for its files at the barrier
        save_vision_model(distiller.student, path, section["arch"], num_classes or exp.data.num_classes,
                          exp.data.image_shape, section["kwargs"], **data_record(exp.data),
                          data_config=exp.cfg["data"], epochs=distiller.epoch, **deployed_in)
        plot_training_progress(run.history, run.plots, title=run.path.name)
    distributed.barrier()
    run.close()
    return path


def train_stage(exp: Experiment, stage: str, model: nn.Module, method: nn.Module, section_name: str, loader,
                epochs: int, teacher: nn.Module | None = None, teacher_test_logits: Tensor | None = None) -> Path:
    """Train ``model`` on the ``section_name`` section's settings (``teacher`` or ``student``) for ``epochs``
    (resuming the stage's last.pt with --resume); return its checkpoint."""
    section = exp.cfg[section_name]
    fit_to_data(exp, model, section)
    distiller = make_distiller(exp, stage, model, method, section, epochs, len(loader), f"{section_name}.lr", teacher)
    evaluate = test_evaluator(exp, method.inference_model(model), epochs, teacher_test_logits)
    distiller.fit(loader, epochs, evaluate=evaluate, resume=exp.resume)
    return finish_stage(exp, distiller, section)


def fit_to_data(exp: Experiment, model: nn.Module, section: dict) -> None:
    """With ``data_init: training_set``, a model with a data-dependent layer (a ``fit_to_data`` method: airbench's
    whitening) fits it on every training image, un-augmented, before its training starts (under DDP, rank 0's fit
    reaches every rank when the model is wrapped); with ``first_batch`` the model fits it on its first training
    batch (augmented)."""
    if section["data_init"] == "first_batch" or not hasattr(model, "fit_to_data"):
        return
    model.fit_to_data(images.to(exp.device) for images, *_ in labelling_loader(plain_training_images(exp)))


def build_method(exp: Experiment, name: str, settings: dict, teacher: nn.Module | None,
                 student: nn.Module | None) -> DistillationMethod:
    """The method ``name`` with ``settings`` (its section ``methods.<name>``, or a method_table row's) that trains
    ``student`` from ``teacher`` on this experiment's classes and image shape."""
    return METHODS.build(name, teacher=teacher, student=student, num_classes=exp.data.num_classes,
                         image_shape=exp.data.image_shape, **settings)


def supervised(exp: Experiment, section: dict) -> nn.Module:
    """Hard-label training with the section's ``label_smoothing`` (teachers and the student alone)."""
    return build_method(exp, "supervised", {"label_smoothing": section["label_smoothing"]}, None, None)


# ----------------------------------------------------------------------------------- teacher, students
def train_teacher(exp: Experiment, stage: str = "teacher") -> tuple[nn.Module, Path]:
    """Train the ``teacher`` section's architecture on hard labels in the stage folder ``stage`` (specialists:
    ``generalist``); returns (teacher, checkpoint)."""
    section = exp.cfg["teacher"]
    model = build_arch(exp, section, exp.seed)
    loader = train_loader(exp, section["batch_size"], exp.seed)
    path = train_stage(exp, stage, model, supervised(exp, section), "teacher", loader, section["epochs"])
    return model, path


def get_teacher(exp: Experiment, stage: str = "teacher") -> tuple[nn.Module, Path]:
    """The ``teacher.checkpoint`` :func:`prepare_experiment` loaded and checked, or a teacher trained here (in the
    stage folder ``stage``)."""
    return exp.given_teacher or train_teacher(exp, stage)


def teacher_logits(exp: Experiment, teacher: nn.Module) -> Tensor:
    return predict(teacher, exp.data.test_loader, exp.device, precision=exp.precision)[0]


def train_student_alone(exp: Experiment, teacher_test_logits: Tensor | None = None) -> tuple[nn.Module, Path]:
    """The baseline: the same student architecture and initialisation, trained on the labelled images'
    hard labels only, for as many optimiser steps as the distilled student."""
    section = exp.cfg["student"]
    model = build_arch(exp, section, exp.student_seed + 1)
    path = train_stage(exp, exp.stage("student_alone"), model, supervised(exp, section), "student",
                       student_loader(exp, distilled=False), alone_epochs(exp), teacher_test_logits=teacher_test_logits)
    return model, path


DISTILL_MODES: Registry = Registry("distillation mode")


def distil_student(exp: Experiment, teacher: nn.Module, teacher_checkpoint: Path,
                   teacher_test_logits: Tensor | None = None) -> tuple[nn.Module, Path]:
    """Build the student and the method, then distil in ``distill.mode``; returns (deployed student, checkpoint).

    The deployed student is ``method.inference_model(student)``: the student itself, or for SimKD the
    student + projector + the teacher's classifier (the checkpoint holds the student's weights, and the
    stage's ``last.pt`` the method's).
    """
    student = build_arch(exp, exp.cfg["student"], exp.student_seed + 1)
    method = build_method(exp, exp.cfg["method"]["name"], method_settings(exp.cfg), teacher, student)
    mode = DISTILL_MODES.get(exp.cfg["distill"]["mode"])
    teacher.eval()
    checkpoint = mode(exp, teacher, teacher_checkpoint, student, method, teacher_test_logits)
    return method.inference_model(student), checkpoint


@DISTILL_MODES.register("online")
def distil_online(exp, teacher, teacher_checkpoint, student, method, teacher_test_logits) -> Path:
    return train_stage(exp, exp.stage("student_kd"), student, method, "student",
                       student_loader(exp, distilled=True), student_epochs(exp.cfg), teacher=teacher,
                       teacher_test_logits=teacher_test_logits)


def plain_training_images(exp: Experiment):
    """The training images in order and un-augmented, in large batches: what an offline teacher labels (from
    memory when the images are there)."""
    if hasattr(exp.data.train_loader, "unaugmented"):
        return exp.data.train_loader.unaugmented(LABEL_BATCH)
    return exp.data.splits.train_plain


def soft_label_folder(cfg: dict, run_path: Path | None) -> Path:
    """Where offline mode caches the teacher's soft labels (and labelled views): ``<distill.cache_dir or the run
    folder>/soft_labels``."""
    return Path(cfg["distill"]["cache_dir"] or run_path) / "soft_labels"


@DISTILL_MODES.register("offline")
def distil_offline(exp, teacher, teacher_checkpoint, student, method, teacher_test_logits) -> Path:
    cache_dir = soft_label_folder(exp.cfg, exp.run.path)
    if exp.cfg["distill"]["views"]:  # K labelled augmented views per image (data/augmentation_cache.py)
        views, fingerprint = exp.cfg["distill"]["views"], file_fingerprint(teacher_checkpoint)
        loader = labelled_views_loader(student_loader(exp, distilled=True), teacher,
                                       cache_dir / f"{exp.data.name}-{fingerprint}-views{views}.pt", fingerprint,
                                       views, exp.seed)
        print(f"offline soft labels: {views} labelled augmented views per image, cached in {cache_dir}")
        return train_stage(exp, exp.stage("student_kd"), student, method, "student", loader,
                           student_epochs(exp.cfg), teacher=teacher, teacher_test_logits=teacher_test_logits)
    cache_file = cache_dir / f"{exp.data.name}-{file_fingerprint(teacher_checkpoint)}.pt"
    logits, seconds = cached_soft_labels(teacher, plain_training_images(exp), cache_file, exp.device, exp.precision)
    cost = "read from the cache" if seconds is None else \
        f"labelled in {seconds:.1f} s ({len(logits) / seconds:,.0f} images/s)"
    print(f"offline soft labels: {tuple(logits.shape)} teacher logits in {cache_file}, {cost}")
    # The teacher is still passed: cached logits take precedence, feature methods may need its features.
    return train_stage(exp, exp.stage("student_kd"), student, method, "student",
                       student_loader(exp, True, logits), student_epochs(exp.cfg), teacher=teacher,
                       teacher_test_logits=teacher_test_logits)


@DISTILL_MODES.register("guide")
def distil_guide(exp, teacher, teacher_checkpoint, student, method, teacher_test_logits) -> Path:
    """``distill.rounds`` rounds of teacher epochs, relabelling and student epochs (the module docstring).

    Each model has one Distiller over all its rounds, so its lr schedule and its ``lookahead`` span the whole run:
    the average is updated on, round after round, and the weights become it once, after the last round's last step.
    The teacher's Distiller is built first, while the teacher is trainable: its optimiser and Lookahead take the
    parameters that require gradients then, and the student's Distiller freezes the teacher (as between rounds, when
    it relabels); the Lookahead keeps tracking it frozen (:mod:`kd.common.engine.lookahead`)."""
    d, t_section, s_section = exp.cfg["distill"], exp.cfg["teacher"], exp.cfg["student"]
    rounds, t_per, s_per = d["rounds"], d["teacher_epochs_per_round"], d["student_epochs_per_round"]
    teacher.requires_grad_(True)
    t_loader = train_loader(exp, t_section["batch_size"], exp.seed)   # the teacher's own batch size, as it trained
    teacher_d = make_distiller(exp, "guide_teacher", teacher, supervised(exp, t_section), t_section, rounds * t_per,
                               len(t_loader), "distill.teacher_lr", schedule="constant",
                               lr=d["teacher_lr"] or t_section["lr"] / 10)
    fit_to_data(exp, student, s_section)
    student_d = make_distiller(exp, exp.stage("student_kd"), student, method, s_section, rounds * s_per,
                               len(student_loader(exp, True)), "student.lr", teacher=teacher)
    if exp.resume:
        teacher_d.try_resume()
        student_d.try_resume()
        if teacher_d.epoch > -(-student_d.epoch // s_per) * t_per:  # cut after the teacher began a round the student
            teacher_d.try_resume()  # had not: its last.pt is the newer, and its random state is where the run stopped
    for r in range(rounds):
        if student_d.epoch >= (r + 1) * s_per:
            continue
        print(f"guide round {r + 1}/{rounds}: teacher +{t_per} epochs, relabel, student +{s_per} epochs")
        teacher.requires_grad_(True)
        teacher_d.fit(t_loader, (r + 1) * t_per, evaluate=test_evaluator(exp, teacher, rounds * t_per))
        teacher.eval().requires_grad_(False)
        fresh, _ = label_images(teacher, plain_training_images(exp), exp.device, exp.precision)
        round_logits = teacher_logits(exp, teacher)
        student_d.fit(student_loader(exp, True, fresh), (r + 1) * s_per,
                      evaluate=test_evaluator(exp, method.inference_model(student), rounds * s_per, round_logits))
    finish_stage(exp, teacher_d, t_section)
    return finish_stage(exp, student_d, s_section)


# ------------------------------------------------------------------------------------------- reporting
def evaluate_models(exp: Experiment, models: dict[str, nn.Module | list[nn.Module]],
                    teacher_test_logits: Tensor | None) -> Evaluation:
    """Quality and cost of each model, as rows of :func:`kd.vision.report.model_metrics_table`, with the test logits
    behind them; a list of models (one per seed) gives the mean and std of their quality and the cost of the first."""
    rows, logits, labels = {}, {}, None
    for name, model in models.items():
        seeds = model if isinstance(model, list) else [model]
        reports, logits[name] = [], []
        for m in seeds:
            report, seed_logits, labels = quality(m, exp.data.test_loader, exp.device, teacher_test_logits,
                                                  exp.precision)
            reports.append(report)
            logits[name].append(seed_logits)
        rows[name] = {**mean_over_seeds(reports),
                      **cost(seeds[0], exp.data.image_shape, exp.device, exp.cfg["train"]["latency_batch"],
                           exp.precision)}
    return Evaluation(rows, logits, labels)


def stage_history(exp: Experiment, stage: str) -> list[dict]:
    path = exp.run.path / stage / "metrics.json"
    return json.loads(path.read_text())["history"] if path.is_file() else []
