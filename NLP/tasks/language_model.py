"""Causal-LM distillation: a teacher (a pretrained model by name, fine-tuned or not, or a GPT-2 config trained
from scratch), a smaller student trained alone and with token-level KL on the next-token distributions
(DistilGPT2, Sanh et al. 2019); perplexity for all of them. The method is ``method.name``
(:data:`kd.nlp.methods.LM_METHODS`: supervised, kd), built with its own section ``methods.<name>``.

Two kinds of models, one flow:

- **pretrained** (``teacher.name``: a hub id such as ``gpt2`` or a ``save_pretrained`` folder): the model's own
  tokenizer throughout; the student is ``student.name`` (a pretrained model with the teacher's vocabulary, e.g.
  ``distilgpt2``) or the teacher's config with ``student.config`` changes (``{n_layer: 6}``), at random or from
  every other teacher layer (``student.init=teacher``). Trained models are saved as the ``save_pretrained`` folder
  ``checkpoints/model/`` (model + tokenizer, loadable by transformers' Auto classes);
- **from scratch** (``teacher.name`` null): GPT-2 configs of ``teacher.n_layer`` / ``n_embd`` / ``n_head`` over a
  tokenizer built by ``train_teacher`` from the training sentences (``data.tokenizer``: ``word``, the default, a
  lower-cased word vocabulary, :class:`kd.nlp.data.WordTokenizer`; ``bpe``, a cased BPE of ``data.vocab_size``,
  :class:`kd.nlp.data.BPETokenizer`) and reused by the student; saved as ``checkpoints/model.pt``.

Each sentence (line) is one example ``<bos> t_1 .. t_n <eos>``, cut at ``data.max_length`` tokens. Perplexity is
exp(sum of -log p(t_i | t_<i) / N) over the N predicted tokens of the validation set (``<eos>`` included), in the
model's own tokens: compare it only between models with one tokenizer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import DataLoader

from kd.common.metrics import count_parameters, measure_latency
from kd.common.engine import loader_perplexity
from kd.common.metrics.text import token_nll
from kd.common.utils.checkpoint import MODEL_CHECKPOINT, MODEL_FOLDER
from kd.common.utils.config import subset_size
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import check_method_sections, method_settings
from kd.common.utils.registry import build_checked, section_options
from kd.common.utils.run_folder import RunFolder
from kd.nlp.data import CausalLMCollator, WordTokenizer, bucketed_loader, build_tokenizer
from kd.nlp.data.hf_tokenizer import HFTextTokenizer
from kd.nlp.data.language_modeling import LM_DATASETS
from kd.nlp.data.subword_tokenizer import check_tokenizer_kind
from kd.nlp.methods import LM_METHODS
from kd.nlp.methods.causal_lm import next_token_view
from kd.nlp.methods.vocabulary_check import require_same_vocabulary
from kd.nlp.model_zoo import load_nlp_model, save_nlp_model
from kd.nlp.student_model import check_student_keys, initialise, student_from_teacher_config
from kd.nlp.tasks.training import (SCHEDULE_KEYS, evaluation_target, fit, moved_to_model_sections,
                                   refuse_empty_splits)
from kd.nlp.teacher_model import build_gpt2_lm, check_max_length, load_causal_lm, save_pretrained_folder
from kd.nlp.tokenizer_spec import tokenizer_spec

TEACHER, STUDENT = "teacher", "student"
SIZE_KEYS = ("n_layer", "n_embd", "n_head", "dropout")
ARCHS = ("gpt2_lm", "hf_causal_lm")


def load_sentences(cfg: dict) -> dict:
    d = cfg["data"]
    check_tokenizer_kind(d.get("tokenizer", "word"))
    splits = build_checked(LM_DATASETS, d["name"], **section_options(LM_DATASETS, d, "data"))
    cuts = {"train": subset_size(d, "train_subset"), "validation": subset_size(d, "dev_subset")}
    return refuse_empty_splits({split: lines[: cuts[split]] if cuts.get(split) else lines
                                for split, lines in splits.items()}, d["name"], "sentences")


def encode(sentences: list[str], tok, cfg: dict) -> list[list[int]]:
    """Each sentence as ``<bos> t_1 .. t_n <eos>`` ids, cut at ``data.max_length``."""
    return [tok.encode(s, add_bos=True, add_eos=True)[: cfg["data"]["max_length"]] for s in sentences]


def make_loader(sentences: list[str], tok, cfg: dict, batch_size: int, shuffle: bool) -> DataLoader:
    items = encode(sentences, tok, cfg)
    return bucketed_loader(items, [len(i) for i in items], batch_size, CausalLMCollator(tok.pad_token_id),
                           seed=cfg["seed"], shuffle=shuffle)


def sentences_per_second(model, sentences: list[str], tok, cfg: dict) -> float:
    """Throughput of one forward on the first ``evaluate.throughput_batch`` validation sentences in file order (not a
    length bucket's, which holds the shortest), in fp32 as :func:`~kd.common.engine.loader_perplexity` scores."""
    batch = CausalLMCollator(tok.pad_token_id)(encode(sentences[: cfg["evaluate"]["throughput_batch"]], tok, cfg))
    return measure_latency(model, batch, forward=lambda m, x: m(**x), precision="fp32")["throughput"]


def batch_nll(model, batch: dict) -> tuple[float, int]:
    """Summed NLL of every next token of a batch (``<eos>`` included, padding excluded) and their count."""
    ids, attn = batch["input_ids"], batch["attention_mask"]
    return token_nll(*next_token_view(model(input_ids=ids, attention_mask=attn).logits, ids, attn))


def build_model(sizes: dict, tok: WordTokenizer, max_length: int):
    kwargs = dict(vocab_size=len(tok), n_positions=max_length, pad_id=tok.pad_token_id, bos_id=tok.bos_token_id,
                  eos_id=tok.eos_token_id, **{k: sizes[k] for k in SIZE_KEYS})
    return build_gpt2_lm(**kwargs), kwargs


def load_teacher(cfg: dict):
    """``(model, tokenizer)``: ``teacher.checkpoint`` (a train_teacher result) or else the pretrained
    ``teacher.name``."""
    t = cfg["teacher"]
    if t.get("checkpoint"):
        model, toks, _ = load_nlp_model(t["checkpoint"], expected_arch=ARCHS)
        return model, toks["main"]
    if t.get("name"):
        return load_causal_lm(t["name"], "teacher.name")
    raise ConfigError("pass teacher.name=<hub id or save_pretrained folder> (e.g. gpt2), or teacher.checkpoint= the "
                      "checkpoints/model.pt file or checkpoints/model folder of a train_teacher run")


def build_student(cfg: dict, teacher, teacher_tok):
    """``(model, tokenizer, kwargs)``: the pretrained ``student.name``, or the teacher's architecture made smaller
    (``student.config``, pretrained teacher) or a GPT-2 of ``student.n_layer``... (from-scratch teacher), initialised
    at random or from alternate teacher layers (``student.init``); ``kwargs`` rebuild a from-scratch one. A student
    key the chosen way does not read is refused first (:func:`check_student_keys`)."""
    s = cfg["student"]
    check_student_keys(s, "language_model", SIZE_KEYS, isinstance(teacher_tok, HFTextTokenizer),
                       '"student.config={n_layer: 6}" for GPT-2')
    init = s.get("init", "random")
    if s.get("name"):
        model, tok = load_causal_lm(s["name"], "student.name")
        require_same_vocabulary(teacher_tok, tok, f"student.name={s['name']}")
        return model, tok, None
    if isinstance(teacher_tok, HFTextTokenizer):
        return student_from_teacher_config(teacher, s.get("config") or {}, init), teacher_tok, None
    model, kwargs = build_model(s, teacher_tok, cfg["data"]["max_length"])
    return initialise(model, teacher, init), teacher_tok, kwargs


def save(model, tok, kwargs: dict | None, run: RunFolder, role: str) -> Path:
    """A pretrained-kind model as the save_pretrained folder ``checkpoints/model/``, a from-scratch one as
    ``checkpoints/model.pt``; ``role`` (teacher, student) names it in the message."""
    if isinstance(tok, HFTextTokenizer):
        path = save_pretrained_folder(model, tok, run.checkpoints / MODEL_FOLDER)
    else:
        path = save_nlp_model(model, run.checkpoints / MODEL_CHECKPOINT, "gpt2_lm", kwargs,
                              {"main": tokenizer_spec(tok)})
    print(f"{role} saved: {path}")
    return path


# Keys of earlier versions, refused with what replaces them: the distill keys of the sum-of-terms method the LM task
# had (the same losses), and the training settings once in train: and distill: (now teacher: and student:).
RENAMED = {
    "distill.weights": "method.name and methods.<name>.<argument> for the language model: {ce: 1.0} is "
                       "method.name=supervised; {ce: 1-a, kd: a} is method.name=kd methods.kd.alpha=a",
    "distill.temperature": "methods.kd.temperature: each method has its own section methods.<name> in the preset",
    **moved_to_model_sections(SCHEDULE_KEYS, SCHEDULE_KEYS),
}


class LanguageModelTask:
    columns = ["model", "val_ppl", "params", "throughput", "train_sentences"]
    renamed = RENAMED

    @staticmethod
    def check_config(cfg: dict) -> None:
        """Before anything is loaded (once, by :func:`kd.nlp.scripts.launch.load_nlp_config`, which has refused the
        keys of :data:`RENAMED`): ``method.name`` a language-model method; every section ``methods.<name>`` a known
        method's, its keys that constructor's arguments."""
        check_method_sections(cfg, LM_METHODS, "language-model")

    @staticmethod
    def _train(model, method, cfg, role, splits, tok, run, device, resume, teacher=None) -> DataLoader:
        """Train ``model`` on the training sentences with the settings of its section ``cfg[role]`` (``role``: teacher
        or student); the validation loader."""
        sched = cfg[role]
        val_loader = make_loader(splits["validation"], tok, cfg, cfg["data"]["eval_batch_size"], False)
        fit(model, method, make_loader(splits["train"], tok, cfg, sched["batch_size"], True), epochs=sched["epochs"],
            lr=sched["lr"], weight_decay=sched["weight_decay"], warmup=sched["warmup"], device=device, run=run,
            teacher=teacher, resume=resume, lr_key=f"{role}.lr",
            evaluate=lambda epoch: {"val_ppl": loader_perplexity(model, val_loader, device, batch_nll)})
        return val_loader

    @staticmethod
    def train_teacher(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        splits = load_sentences(cfg)
        name = cfg["teacher"].get("name")
        if name:
            (model, tok), kwargs = load_causal_lm(name, "teacher.name"), None
        else:
            d = cfg["data"]
            tok = build_tokenizer(d.get("tokenizer", "word"), splits["train"], d["min_freq"], d.get("vocab_size"))
            model, kwargs = build_model(cfg["teacher"], tok, cfg["data"]["max_length"])
        print(f"teacher{f' {name}' if name else ''}: {count_parameters(model):,} parameters; vocabulary "
              f"{len(tok):,}; {len(splits['train']):,} training sentences")
        check_max_length(cfg["data"]["max_length"], {"teacher": model})
        run = open_run()
        supervised = LM_METHODS.get("supervised")()
        val_loader = LanguageModelTask._train(model, supervised, cfg, TEACHER, splits, tok, run, device, resume)
        save(model, tok, kwargs, run, TEACHER)
        return LanguageModelTask._final("teacher", model, tok, val_loader, splits, cfg, device)

    @staticmethod
    def distill(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        method = LM_METHODS.get(cfg["method"]["name"])(**method_settings(cfg))
        teacher, t_tok = load_teacher(cfg)
        splits = load_sentences(cfg)
        model, tok, kwargs = build_student(cfg, teacher, t_tok)
        label = "student + token KL" if method.needs_teacher else "student alone"
        print(f"{label}: {count_parameters(model):,} parameters (teacher {count_parameters(teacher):,})")
        check_max_length(cfg["data"]["max_length"], {"teacher": teacher, "student": model})
        run = open_run()
        val_loader = LanguageModelTask._train(model, method, cfg, STUDENT, splits, tok, run, device, resume,
                                              teacher=teacher.to(device))
        save(model, tok, kwargs, run, STUDENT)
        return LanguageModelTask._final(label, model, tok, val_loader, splits, cfg, device)

    @staticmethod
    def evaluate(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        """``evaluate.checkpoint``; without one, the teacher (``teacher.checkpoint``, or the pretrained ``teacher.name``
        as it is)."""
        label = evaluation_target(cfg)
        if cfg["evaluate"].get("checkpoint"):
            model, toks, _ = load_nlp_model(label, expected_arch=ARCHS)
            tok = toks["main"]
        else:
            model, tok = load_teacher(cfg)
        check_max_length(cfg["data"]["max_length"], {"evaluated model": model})
        splits = load_sentences(cfg)
        val_loader = make_loader(splits["validation"], tok, cfg, cfg["data"]["eval_batch_size"], False)
        open_run()  # every check passed (--dry-run exits here)
        return LanguageModelTask._final(label, model.to(device), tok, val_loader, splits, cfg, device)

    @staticmethod
    def _final(label, model, tok, val_loader, splits, cfg, device) -> dict:
        return {"model": label, "val_ppl": loader_perplexity(model, val_loader, device, batch_nll),
                "params": count_parameters(model),
                "throughput": sentences_per_second(model, splits["validation"], tok, cfg),
                "train_sentences": len(splits["train"])}
