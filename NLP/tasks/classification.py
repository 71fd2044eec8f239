"""Text classification (SST-2, TREC, AG News, local tables): fine-tune a teacher, distil a student, evaluate.

Teacher: ``teacher.name`` (``minilm`` = the packaged MiniLM-L6, or any local folder / hub id such as
``bert-base-uncased``) with a new classification head, fine-tuned with CE; ``teacher.pooling`` picks what the head
reads (``cls``: the [CLS] state through the pooler; ``mean``: the mean of the token states), and its checkpoint
records it, so ``distill`` and ``evaluate`` rebuild the head it was trained with (:func:`load_teacher`); a list of
checkpoints, ``teacher.checkpoint=[A.pt,B.pt]``, is one teacher, the mean of their logits (an ensemble). Student:
``student.arch`` = ``small_bert`` (teacher's tokenizer), ``bilstm`` (own word vocabulary) or ``pretrained``
(``student.name``, its own tokenizer; ``student.pooling`` as ``teacher.pooling``). Each stage saves its model as
``checkpoints/model.pt`` (what ``teacher.checkpoint=`` and ``evaluate`` read; ``checkpoints/last.pt`` is the training
state ``--resume`` continues from); a transformers student also as ``checkpoints/model/``, a ``save_pretrained``
folder with its tokenizer and label names (not a mean-pooled one: no transformers class has its head).

The distillation method is ``method.name`` (:data:`kd.nlp.methods.CLASSIFICATION_METHODS`: supervised, kd,
logit_mse, tinybert, distilbert), built with its own section ``methods.<name>``; what it declares decides what the
run needs: a teacher or none, whether the student must read the teacher's tokenizer, whether cached logits can
stand in for the teacher. Distillation mode ``offline`` computes the teacher's logits on the training set once and
caches them (``distill.cache_dir``, null: the run folder), so a student epoch costs no teacher forward and students
that share the cache folder share the labelling; ``online`` runs the teacher every batch (what methods that read
its hidden states or attentions need). With ``distill.augment.copies`` > 0 (offline only) the training sentences are
joined by augmented ones (Tang et al. 2019, :mod:`kd.nlp.data.augmentation`) that carry no hard label
(``UNLABELLED``): the teacher labels them with the rest, once, and the student learns them from its soft targets.
With ``data.holdout`` > 0 a stratified part of the training set, drawn by ``seed``, is set aside before anything is
built from it (:meth:`~kd.nlp.data.classification.TextClassificationData.split_holdout`): the model trains on the rest
(the student's vocabulary, augmented copies and cached teacher logits come from the rest alone), and each evaluation
reports ``holdout_acc`` beside ``dev_acc``, for choosing a schedule on training data and reporting dev once.
"""
from __future__ import annotations

import time
from typing import Callable

import torch
from torch.utils.data import DataLoader

from kd.common.engine import predict
from kd.common.losses import UNLABELLED
from kd.common.metrics import agreement, classification_report, count_parameters, measure_latency
from kd.common.utils import distributed
from kd.common.utils.checkpoint import MODEL_CHECKPOINT, MODEL_FOLDER, atomic_save_on_main, file_fingerprint
from kd.common.utils.config import subset_size
from kd.common.utils.errors import CheckpointMismatchError, ConfigError
from kd.common.utils.method_sections import check_method_sections, method_settings
from kd.common.utils.paths import require_writable_folder
from kd.common.utils.registry import build_checked, section_options
from kd.common.utils.run_folder import RunFolder
from kd.nlp.data import CLASSIFICATION_DATASETS, ClassificationCollator, bucketed_loader
from kd.nlp.data.augmentation import augment_sentences, check_augment_settings
from kd.nlp.defaults import task_section
from kd.nlp.methods import CLASSIFICATION_METHODS, check_method_fits
from kd.nlp.methods.classification import SUPPLIED
from kd.nlp.methods.supervised import Supervised
from kd.nlp.model_zoo import load_nlp_model, save_nlp_model
from kd.nlp.student_model.classification_students import CLASSIFICATION_STUDENTS, check_student_arch_keys
from kd.nlp.tasks.teacher_cache import teacher_cache_path
from kd.nlp.tasks.training import SCHEDULE_KEYS, fit, moved_to_model_sections
from kd.nlp.teacher_model import (LogitEnsemble, check_max_length, check_pooling, load_hf_classifier,
                                  load_hf_tokenizer, pooling_of, save_pretrained_folder)
from kd.nlp.tokenizer_spec import tokenizer_spec

LOGITS_CACHE = "teacher_logits.pt"


def load_data(cfg: dict):
    """The data set of ``cfg['data']``: its training subset, then the held-out part (``data.holdout``) split off it,
    and its dev subset, each drawn by ``cfg['seed']``."""
    d = cfg["data"]
    data = build_checked(CLASSIFICATION_DATASETS, d["name"], **section_options(CLASSIFICATION_DATASETS, d, "data"))
    data = data.subset_train(subset_size(d, "train_subset"), seed=cfg["seed"]).split_holdout(d.get("holdout") or 0,
                                                                                             seed=cfg["seed"])
    return data.subset_dev(subset_size(d, "dev_subset"), seed=cfg["seed"])


def check_holdout(value) -> None:
    """``data.holdout`` a fraction in [0, 1) (the split itself, which needs the data, is checked by
    :meth:`~kd.nlp.data.classification.TextClassificationData.split_holdout`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"data.holdout must be a fraction in [0, 1) of the training examples (0: off), got {value!r}")


def holdout_scorer(data, tokenizers: dict, cfg: dict, model, device, role: str = "student") -> Callable[[], dict]:
    """``score()``: ``{"holdout_acc": ...}`` of ``model`` on the held-out part, or ``{}`` when there is none."""
    if not data.holdout_texts:
        return lambda: {}
    loader = make_loader(data.holdout_texts, data.holdout_labels, tokenizers, cfg, cfg["data"]["eval_batch_size"],
                         False)

    def score() -> dict:
        logits, labels = logits_on(model, loader, device, role)
        return {"holdout_acc": classification_report(logits, labels, ks=(1,))["acc"]}

    return score


def held_out_note(data) -> str:
    """`` (N more held out: data.holdout)`` with a held-out part, else ``""`` (for the line on the training set)."""
    return f" ({len(data.holdout_texts):,} more held out: data.holdout)" if data.holdout_texts else ""


def holdout_size(data) -> dict:
    return {"holdout_examples": len(data.holdout_texts)} if data.holdout_texts else {}


def make_loader(texts, labels, tokenizers: dict, cfg: dict, batch_size: int, shuffle: bool,
                teacher_logits: torch.Tensor | None = None, mask_token: str | None = None) -> DataLoader:
    items = [{"text": t, "label": y} for t, y in zip(texts, labels)]
    if teacher_logits is not None:
        for item, logits in zip(items, teacher_logits):
            item["teacher_logits"] = logits
    collate = ClassificationCollator(tokenizers, cfg["data"]["max_length"], mask_token)
    # bucket by length unless data.bucket is false (equal lengths: a plain shuffle, or the file order)
    lengths = [len(t.split()) for t in texts] if cfg["data"].get("bucket", True) else [0] * len(texts)
    return bucketed_loader(items, lengths, batch_size, collate, seed=cfg["seed"], shuffle=shuffle)


def logits_on(model, loader, device, role: str) -> tuple[torch.Tensor, torch.Tensor]:
    return predict(model, loader, device, forward=lambda m, b: m(**b["inputs"][role]).logits,
                   target=lambda b: b["labels"])


def examples_per_second(model, tokenizer, texts: list[str], max_length: int, batch_size: int) -> float:
    batch = ClassificationCollator({"x": tokenizer}, max_length)([{"text": t, "label": 0} for t in texts[:batch_size]])
    return measure_latency(model, batch["inputs"]["x"], forward=lambda m, x: m(**x))["throughput"]


def load_teacher(cfg: dict, required: bool, data):
    """``teacher.checkpoint``, its tokenizer and the name that tokenizer was loaded by (a student on it records the
    same), checked against the data's labels; ``(None, None, None)`` without one. A list of checkpoints is one teacher,
    the mean of their logits (:class:`~kd.nlp.teacher_model.ensemble.LogitEnsemble`), whose members must read one
    tokenizer and share one head. The head is the one the checkpoint records (``pooling``; a checkpoint from before
    ``teacher.pooling``: ``cls``): ``teacher.pooling`` is train_teacher's setting, and where the config's differs from
    the checkpoint's, one line says so and the config takes the checkpoint's (the run's config.yaml records the head
    that was used)."""
    paths = cfg["teacher"].get("checkpoint")
    if not paths:
        if required:
            raise ConfigError("this run needs a fine-tuned teacher: pass teacher.checkpoint=RUN_DIR/checkpoints/"
                              f"{MODEL_CHECKPOINT} (made by kd.nlp.scripts.train_teacher)")
        return None, None, None
    teacher, tokenizer, tokenizer_name, pooling = load_fine_tuned(paths, data, cfg)
    if cfg["teacher"].get("pooling", "cls") != pooling:
        trained = f"'{paths}'" if isinstance(paths, str) else f"each of the {len(paths)} checkpoints"
        print(f"teacher.pooling={pooling}: the head {trained} was trained with (the config's "
              f"teacher.pooling={cfg['teacher'].get('pooling', 'cls')} is train_teacher's setting)")
        cfg["teacher"]["pooling"] = pooling
    return teacher, tokenizer, tokenizer_name


def load_fine_tuned(paths, data, cfg: dict):
    """``(model, tokenizer, tokenizer name, pooling)`` of the train_teacher checkpoint ``paths``, or of the ensemble of
    a list of them (one member: that model), each checked against the data's labels; the members of an ensemble must
    record one tokenizer and one head."""
    members = [paths] if isinstance(paths, str) else list(paths)
    loaded = []
    for path in members:
        model, tokenizers, meta = load_nlp_model(path, expected_arch=("hf_classifier",))
        check_labels(path, meta, data, cfg)
        loaded.append((model, tokenizers["main"], meta["tokenizers"]["main"], pooling_of(model)))
    (model, tokenizer, spec, pooling), others = loaded[0], loaded[1:]
    for path, (_, _, other_spec, other_pooling) in zip(members[1:], others):
        if (other_spec, other_pooling) != (spec, pooling):
            raise CheckpointMismatchError(
                f"'{path}' reads another tokenizer or has another head ({other_spec.get('name')}, pooling "
                f"{other_pooling}) than '{members[0]}' ({spec.get('name')}, pooling {pooling}): the members of an "
                "ensemble teacher share both; fine-tune them from one teacher.name with one teacher.pooling")
    if others:
        model = LogitEnsemble([model] + [other[0] for other in others])
        print(f"teacher: the mean of the logits of {len(members)} fine-tuned classifiers")
    return model, tokenizer, spec.get("name"), pooling


def check_labels(path: str, meta: dict, data, cfg: dict) -> None:
    """A classifier checkpoint predicts the data's labels: the same number always; the same names and data set
    (what it records) unless ``data.allow_checkpoint_mismatch=true``."""
    names = [str(n) for n in meta.get("label_names", [])]
    if len(names) != data.num_labels:
        raise CheckpointMismatchError(f"'{path}' predicts {len(names)} labels but the data set has {data.num_labels}; "
                                      "use a checkpoint fine-tuned on this data set")
    differences = [f"data set {meta['data']} vs {cfg['data']['name']}"] if meta.get("data") not in (
        None, cfg["data"]["name"]) else []
    if names != data.label_names:
        differences.append(f"labels {names} vs {data.label_names}")
    if differences and not cfg["data"].get("allow_checkpoint_mismatch", False):
        raise CheckpointMismatchError(f"'{path}' was fine-tuned on other data: {'; '.join(differences)}; pass a "
                                      "checkpoint fine-tuned on this data, or set data.allow_checkpoint_mismatch=true "
                                      "to use it anyway (label i of the checkpoint is read as label i of the data)")
    if differences:
        print(f"warning: '{path}' was fine-tuned on other data ({'; '.join(differences)}); used anyway")


MODES = ("offline", "online")
# Keys of earlier versions, refused with what replaces them: the distill keys of the one sum-of-terms method text
# classification had (now one method per paper, each with its section methods.<name>), and the training settings
# once in train: and distill: (now teacher: and student:).
RENAMED = {
    "distill.weights": "method.name and methods.<name>.<argument> for text classification: {ce: 1.0} is "
                       "method.name=supervised; {ce: 1-a, kd: a} is method.name=kd methods.kd.alpha=a; "
                       "{ce: 1-a, mse: a} is method.name=logit_mse methods.logit_mse.alpha=a; hidden and attention "
                       "are method.name=tinybert methods.tinybert.hidden_weight / attention_weight (its ce and kd: "
                       "methods.tinybert.alpha); cosine is method.name=distilbert methods.distilbert.cosine_weight",
    "distill.temperature": "methods.<name>.temperature (e.g. methods.kd.temperature=2): each method has its own "
                           "section methods.<name> in the preset",
    "distill.attention_heads": "methods.tinybert.attention_heads",
    "distill.feature_epochs": "methods.tinybert.feature_epochs",
    **moved_to_model_sections(SCHEDULE_KEYS, SCHEDULE_KEYS),
}


class ClassificationTask:
    columns = ["model", "dev_acc", "holdout_acc", "agreement", "params", "throughput", "train_examples",
               "holdout_examples"]
    renamed = RENAMED
    ensembles = True  # teacher.checkpoint (and evaluate.checkpoint) may list several: one teacher, their mean logits

    @staticmethod
    def check_config(cfg: dict) -> None:
        """Before anything is loaded (once, by :func:`kd.nlp.scripts.launch.load_nlp_config`, which has refused the
        keys of :data:`RENAMED`): ``method.name`` a known method; every section ``methods.<name>`` a known method's, its
        keys that constructor's arguments (a near miss names the one meant) and their values ones it takes
        (``check_settings``); ``distill.mode`` offline or online, and offline only for a method that works from cached
        logits; ``distill.augment`` (:func:`check_augment`); ``data.holdout`` a fraction (:func:`check_holdout`);
        ``teacher.checkpoint`` as a list, an ensemble, only where the teacher's logits are all a run reads
        (:func:`check_teacher_ensemble`); ``teacher.pooling`` and ``student.pooling`` cls or mean
        (:func:`~kd.nlp.teacher_model.check_pooling`)."""
        name = check_method_sections(cfg, CLASSIFICATION_METHODS, "text-classification", SUPPLIED)
        for section, settings in (cfg.get("methods") or {}).items():
            CLASSIFICATION_METHODS.get(section).check_settings(settings or {})
        mode = cfg["distill"]["mode"]
        if mode not in MODES:
            raise ConfigError(f"unknown distill.mode '{mode}'; choose offline or online")
        check_method_fits(name, mode)
        check_augment(cfg["distill"], name)
        check_holdout(cfg["data"].get("holdout", 0))
        check_teacher_ensemble(cfg, name)
        for section in ("teacher", "student"):
            check_pooling(cfg[section].get("pooling", "cls"), f"{section}.pooling")
        check_student_arch_keys(cfg["student"], task_section("classification")["student"])

    @staticmethod
    def train_teacher(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        data = load_data(cfg)
        name, pooling = cfg["teacher"]["name"], cfg["teacher"].get("pooling", "cls")
        tokenizer = load_hf_tokenizer(name)
        model = load_hf_classifier(name, num_labels=data.num_labels, pooling=pooling)
        check_max_length(cfg["data"]["max_length"], {"teacher": model})
        run = open_run()
        t = cfg["teacher"]
        tokenizers = {"student": tokenizer}
        train_loader = make_loader(data.train_texts, data.train_labels, tokenizers, cfg, t["batch_size"], True)
        dev_loader = make_loader(data.dev_texts, data.dev_labels, tokenizers, cfg, cfg["data"]["eval_batch_size"],
                                 False)
        holdout = holdout_scorer(data, tokenizers, cfg, model, device)

        def evaluate(epoch: int) -> dict:
            logits, labels = logits_on(model, dev_loader, device, "student")
            return {"dev_acc": classification_report(logits, labels, ks=(1,))["acc"], **holdout()}

        head = "" if pooling == "cls" else f", {pooling} pooling"  # in the label too: a report keeps the heads apart
        print(f"teacher {name}{head}: {count_parameters(model):,} parameters; {len(data.train_texts):,} training "
              f"examples{held_out_note(data)}")
        fit(model, Supervised(), train_loader, epochs=t["epochs"], lr=t["lr"],
            weight_decay=t["weight_decay"], warmup=t["warmup"], device=device, run=run, evaluate=evaluate,
            resume=resume, lr_key="teacher.lr")
        save_nlp_model(model, run.checkpoints / MODEL_CHECKPOINT, "hf_classifier",
                       {"name": name, "num_labels": data.num_labels, "pooling": pooling},
                       {"main": tokenizer_spec(tokenizer, name)},
                       label_names=data.label_names, data=cfg["data"]["name"])
        final = {"model": f"teacher ({name}{head})", **_last_dev_metrics(run, evaluate),
                 "params": count_parameters(model),
                 "train_examples": len(data.train_texts), **holdout_size(data),
                 "throughput": examples_per_second(model, tokenizer, data.dev_texts, cfg["data"]["max_length"],
                                                   cfg["evaluate"]["throughput_batch"])}
        return final

    @staticmethod
    def distill(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        name, settings, dc, sc = cfg["method"]["name"], method_settings(cfg), cfg["distill"], cfg["student"]
        method_cls = CLASSIFICATION_METHODS.get(name)
        if dc["mode"] == "offline" and dc.get("cache_dir"):  # the teacher-logits cache, checked before any work
            require_writable_folder(dc["cache_dir"], "distill.cache_dir")
        data = load_data(cfg)
        needs_teacher = method_cls.needs_teacher or cfg["student"].get("init") == "teacher"
        teacher, t_tok, t_tok_name = load_teacher(cfg, needs_teacher or cfg["student"]["arch"] == "small_bert", data)
        built = CLASSIFICATION_STUDENTS.get(cfg["student"]["arch"]).build(cfg["student"], data.num_labels, teacher,
                                                                          t_tok, t_tok_name, data.train_texts)
        student, s_tok, s_kwargs, s_spec = built.model, built.tokenizer, built.kwargs, built.tokenizer_spec
        check_method_fits(name, dc["mode"], shares_tokenizer=s_tok is t_tok, student_arch=cfg["student"]["arch"])
        check_max_length(cfg["data"]["max_length"], {"teacher": teacher, "student": student})
        method = method_cls(teacher=teacher, student=student, **settings)
        feature_epochs = getattr(method, "feature_epochs", 0)
        if feature_epochs and (feature_epochs >= sc["epochs"] or distributed.get_world_size() > 1):
            raise ConfigError(f"methods.{name}.feature_epochs={feature_epochs} needs student.epochs above it (the "
                              "prediction stage follows) and one process (its two stages train different "
                              "parameters, which DDP's static graph does not allow)")
        tokenizers = {"student": s_tok} if teacher is None else {"teacher": t_tok, "student": s_tok}
        dev_loader = make_loader(data.dev_texts, data.dev_labels, tokenizers, cfg, cfg["data"]["eval_batch_size"],
                                 False)
        texts, labels = transfer_set(data, t_tok, dc["augment"])
        run = open_run()
        cached = None
        if method.needs_teacher and dc["mode"] == "offline":  # check_method_fits: the method works from logits
            cached = _cached_teacher_logits(teacher, texts, t_tok, cfg, run, device)
        # the augmented sentences' mask token: a student with a tokenizer of its own reads its own mask token instead
        mask_token = getattr(t_tok, "mask_token", None) if dc["augment"]["copies"] else None
        train_loader = make_loader(texts, labels, tokenizers, cfg, sc["batch_size"], True, cached, mask_token)
        teacher_dev = logits_on(teacher, dev_loader, device, "teacher")[0] if teacher is not None else None
        holdout = holdout_scorer(data, {"student": s_tok}, cfg, student, device)

        def evaluate(epoch: int) -> dict:
            logits, labels = logits_on(student, dev_loader, device, "student")
            out = {"dev_acc": classification_report(logits, labels, ks=(1,))["acc"], **holdout()}
            if teacher_dev is not None:
                out["agreement"] = agreement(logits, teacher_dev)
            return out

        arch = cfg["student"]["arch"]  # in the label, so a report tells a BiLSTM row from a small-BERT one
        if pooling_of(student) != "cls":  # and a mean-pooled pretrained student from a [CLS] one
            arch += f" ({pooling_of(student)} pooling)"
        label = f"{arch} alone" if not method.needs_teacher else f"{arch} + {name}"
        if dc["augment"]["copies"]:
            label += f" + augment x{dc['augment']['copies']}"
        print(f"{label}: {count_parameters(student):,} parameters; {len(texts):,} training examples"
              f"{held_out_note(data)}")
        fit(student, method, train_loader, epochs=sc["epochs"], lr=sc["lr"], weight_decay=sc["weight_decay"],
            warmup=sc["warmup"], device=device, run=run, teacher=teacher, evaluate=evaluate, resume=resume,
            lr_key="student.lr")
        save_nlp_model(student, run.checkpoints / MODEL_CHECKPOINT, cfg["student"]["arch"], s_kwargs,
                       {"main": s_spec}, label_names=data.label_names, data=cfg["data"]["name"])
        if hasattr(student, "save_pretrained"):  # a transformers model: also as Auto classes load it, label names in
            student.config.id2label = {i: str(name) for i, name in enumerate(data.label_names)}
            student.config.label2id = {str(name): i for i, name in enumerate(data.label_names)}
            folder = save_pretrained_folder(student, s_tok, run.checkpoints / MODEL_FOLDER)
            print(f"student saved for transformers: {folder}")
        elif pooling_of(student) != "cls":
            print(f"student.pooling={pooling_of(student)}: no save_pretrained folder (no transformers class has this "
                  f"head); checkpoints/{MODEL_CHECKPOINT} holds it")
        final = {"model": label, **_last_dev_metrics(run, evaluate), "params": count_parameters(student),
                 "train_examples": len(texts), **holdout_size(data),
                 "throughput": examples_per_second(student, s_tok, data.dev_texts, cfg["data"]["max_length"],
                                                   cfg["evaluate"]["throughput_batch"])}
        return final

    @staticmethod
    def evaluate(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        path = cfg["evaluate"]["checkpoint"]
        if not path:
            raise ConfigError(f"pass evaluate.checkpoint=RUN_DIR/checkpoints/{MODEL_CHECKPOINT} (a train_teacher or "
                              "distill run's)")
        if isinstance(path, list):  # train_teacher checkpoints scored as one ensemble, the mean of their logits
            data = load_data(cfg)
            model, tok, _, _ = load_fine_tuned(path, data, cfg)
        else:
            model, tokenizers, meta = load_nlp_model(path, expected_arch=("hf_classifier",
                                                                          *CLASSIFICATION_STUDENTS.names()))
            data = load_data(cfg)
            check_labels(path, meta, data, cfg)
            tok = tokenizers["main"]
        model.to(device)
        teacher, t_tok, _ = load_teacher(cfg, False, data)
        check_max_length(cfg["data"]["max_length"], {"evaluated model": model, "teacher": teacher})
        roles = {"model": tok} if teacher is None else {"model": tok, "teacher": t_tok}
        loader = make_loader(data.dev_texts, data.dev_labels, roles, cfg, cfg["data"]["eval_batch_size"], False)
        holdout = holdout_scorer(data, {"model": tok}, cfg, model, device, role="model")
        open_run()  # every check passed (--dry-run exits here)
        logits, labels = logits_on(model, loader, device, "model")
        teacher_logits = logits_on(teacher, loader, device, "teacher")[0] if teacher is not None else None
        report = classification_report(logits, labels, teacher_logits, ks=(1,))
        name = " + ".join(map(str, path)) if isinstance(path, list) else str(path)
        return {"model": name, "dev_acc": report["acc"], **holdout(), "ece": report["ece"],
                **({"agreement": report["agreement"]} if teacher is not None else {}),
                "params": count_parameters(model),
                "throughput": examples_per_second(model, tok, data.dev_texts, cfg["data"]["max_length"],
                                                  cfg["evaluate"]["throughput_batch"])}


def check_teacher_ensemble(cfg: dict, method: str) -> None:
    """``teacher.checkpoint`` listing two or more checkpoints (an ensemble, which gives the mean of their logits and
    nothing else; :func:`kd.nlp.scripts.launch.check_checkpoint_keys` has checked the list): a run that reads only the
    teacher's logits, not a method that reads its hidden states or attention maps, nor ``student.init=teacher`` (one
    teacher's layers)."""
    paths = cfg["teacher"].get("checkpoint")
    if not isinstance(paths, list) or len(paths) < 2:
        return
    reads = [o.replace("_", " ") for o in CLASSIFICATION_METHODS.get(method).teacher_outputs if o != "logits"]
    if reads:
        raise ConfigError(f"teacher.checkpoint lists {len(paths)} teachers, whose ensemble gives only the mean of "
                          f"their logits, and method.name={method} reads the teacher's {' and '.join(reads)}: pass one "
                          "checkpoint, or a method that reads logits (kd, logit_mse)")
    if cfg["student"].get("init", "random") == "teacher":
        raise ConfigError(f"teacher.checkpoint lists {len(paths)} teachers, and student.init=teacher copies the layers "
                          "of one: pass one checkpoint, or student.init=random")


def check_augment(distill: dict, method: str) -> None:
    """``distill.augment``'s values (:func:`~kd.nlp.data.augmentation.check_augment_settings`); with ``copies`` > 0,
    a method with a teacher that learns from sentences without a hard label, and offline mode (the teacher labels
    the augmented sentences once, with the training set)."""
    augment = distill["augment"]
    check_augment_settings(augment)
    copies = augment["copies"]
    if not copies:
        return
    cls = CLASSIFICATION_METHODS.get(method)
    if not (cls.needs_teacher and cls.learns_from_unlabelled):
        lacks = "has no teacher" if not cls.needs_teacher else "needs the hard label of every sentence"
        raise ConfigError(f"distill.augment.copies={copies} adds sentences that only a teacher labels; method.name="
                          f"{method} {lacks}: use kd or logit_mse, or distill.augment.copies=0")
    if distill["mode"] != "offline":
        raise ConfigError(f"distill.augment.copies={copies} needs distill.mode=offline: the teacher labels the "
                          "augmented sentences once, with the training set")


def transfer_set(data, teacher_tokenizer, augment: dict) -> tuple[list[str], list[int]]:
    """The sentences the student trains on and their labels: the training set, then (``augment['copies']`` > 0) its
    augmented copies labelled ``UNLABELLED``, their masked words the teacher tokenizer's own mask token."""
    if not augment["copies"]:
        return data.train_texts, data.train_labels
    mask_token = getattr(teacher_tokenizer, "mask_token", None)
    if mask_token is None and augment["p_mask"] > 0:
        raise ConfigError("distill.augment.p_mask masks words with the teacher tokenizer's mask token, and this "
                          "teacher's tokenizer has none: set distill.augment.p_mask=0")
    augmented = augment_sentences(data.train_texts, mask_token, **augment)
    settings = ", ".join(f"{k}={v}" for k, v in augment.items())
    print(f"transfer set: {len(data.train_texts):,} labelled + {len(augmented):,} augmented sentences ({settings})")
    return data.train_texts + augmented, data.train_labels + [UNLABELLED] * len(augmented)


def _last_dev_metrics(run: RunFolder, evaluate) -> dict:
    """The dev (and held-out) metrics of the last epoch (evaluated again only if the history has none)."""
    last = run.history[-1] if run.history else {}
    return {k: last[k] for k in ("dev_acc", "holdout_acc", "agreement") if k in last} or evaluate(0)


def transfer_set_settings(cfg: dict) -> dict:
    """The config values that change the transfer set's rows, which name its teacher-logits cache: the data files
    (a local table by its content too: edited in place, it is another), columns, subset and its seed, max_length,
    ``data.holdout`` and its seed when it holds examples out, and ``distill.augment`` when it adds sentences (each
    only when set, so a cache made without it keeps its name and is never read for a run with it)."""
    d = cfg["data"]
    settings = {k: d.get(k) for k in ("name", "path", "train_file", "text_column", "label_column", "train_subset",
                                      "max_length")}
    if d.get("train_file"):
        settings["train_file_content"] = file_fingerprint(d["train_file"])
    settings["subset_seed"] = cfg["seed"] if d.get("train_subset") else None
    if d.get("holdout"):  # the rows left for training are this seed's split
        settings["holdout"] = {"fraction": d["holdout"], "seed": cfg["seed"]}
    if cfg["distill"]["augment"]["copies"]:
        settings["augment"] = cfg["distill"]["augment"]
    return settings


def _cached_teacher_logits(teacher, texts: list[str], t_tok, cfg: dict, run: RunFolder, device) -> torch.Tensor:
    """The teacher's logits on ``texts`` (the transfer set: :func:`transfer_set`), computed once (offline
    distillation) and kept in ``distill.cache_dir`` (null: the run folder), named by the teacher's checkpoint and the
    settings that change the rows (:func:`transfer_set_settings`; :mod:`kd.nlp.tasks.teacher_cache`), so runs that
    share a cache folder share the labelling and a retrained teacher, another subset or another augmentation never
    reuses it."""
    path = teacher_cache_path(cfg, run, transfer_set_settings(cfg), LOGITS_CACHE)
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        if cached.shape[0] == len(texts):
            print(f"teacher logits on {len(texts):,} training examples read from {path}")
            return cached
    loader = make_loader(texts, [UNLABELLED] * len(texts), {"teacher": t_tok}, cfg, cfg["data"]["eval_batch_size"],
                         False)
    print(f"caching the teacher's logits on {len(texts):,} training examples -> {path}")
    start = time.perf_counter()
    logits = logits_on(teacher, loader, device, "teacher")[0]  # each rank labels its shard; all get all
    atomic_save_on_main(logits, path)
    print(f"labelled in {time.perf_counter() - start:.0f} s")
    return logits

