"""Translation (Multi30k de->en, or any parallel corpus loader): a teacher, a smaller student distilled by
word-level KD (token KL, teacher-forced) and/or sequence-level KD (trained on the teacher's beam outputs), Kim &
Rush 2016. The method is ``method.name`` (:data:`kd.nlp.methods.TRANSLATION_METHODS`: supervised, word_kd, seq_kd,
seq_word_kd), built with its own section ``methods.<name>``; what it declares (``teacher_outputs``) decides whether
the teacher's beam outputs replace the references and whether the teacher runs on every batch.

Two kinds of models, one flow:

- **pretrained** (``teacher.name``: a hub id such as ``Helsinki-NLP/opus-mt-de-en`` or ``t5-small``, or a
  ``save_pretrained`` folder; any ``AutoModelForSeq2SeqLM``): the model's own tokenizer for sources and targets;
  the student is ``student.name`` (pretrained, the teacher's vocabulary) or the teacher's config with
  ``student.config`` changes (``{encoder_layers: 6, decoder_layers: 1}``), at random or from alternate teacher
  layers (``student.init=teacher``); beam search is the model's ``generate``; BLEU is sacreBLEU's corpus BLEU
  (13a tokenisation, cased) of the detokenised output against the untouched references -- the standard form.
  ``data.source_prefix`` is put before every source (T5: ``"translate German to English: "``). Trained models are
  saved as the ``save_pretrained`` folder ``checkpoints/model/``;
- **from scratch** (``teacher.name`` null): :class:`~kd.nlp.teacher_model.TransformerSeq2Seq` at two sizes over
  the tokenizer ``data.tokenizer`` names, learnt by ``train_teacher`` from the training pairs and stored in
  ``checkpoints/model.pt``; students and ``evaluate`` reuse the checkpoint's tokenizers whatever
  ``data.tokenizer`` says. ``bpe`` (the preset's default): one joint cased BPE vocabulary of ``data.vocab_size``
  for both languages (:class:`kd.nlp.data.BPETokenizer`), whose output detokenises, so BLEU is the standard one
  above. ``word`` (older runs): one vocabulary per language of lower-cased words and punctuation
  (:class:`kd.nlp.data.WordTokenizer`, words seen fewer than ``data.min_freq`` times -> ``<unk>``); BLEU is then
  computed against the lower-cased, word-split references (a tokenised, case-insensitive BLEU, not comparable with
  published figures), and the final record's ``bleu_scoring`` says which of the two a BLEU figure is.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from kd.common.metrics import count_parameters
from kd.common.engine import loader_perplexity
from kd.common.metrics.text import corpus_bleu, token_nll
from kd.common.utils import distributed
from kd.common.utils.checkpoint import MODEL_CHECKPOINT, MODEL_FOLDER, atomic_save_on_main
from kd.common.utils.config import subset_size
from kd.common.utils.device import autocast
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import check_method_sections, method_settings
from kd.common.utils.paths import require_writable_folder
from kd.common.utils.registry import build_checked, section_options
from kd.common.utils.run_folder import RunFolder
from kd.nlp.data import Seq2SeqCollator, bucketed_loader, build_tokenizer, WordTokenizer
from kd.nlp.data.subword_tokenizer import check_tokenizer_kind
from kd.nlp.data.translation import TRANSLATION_DATASETS
from kd.nlp.data.word_tokenizer import split_words
from kd.nlp.generation import beam_search
from kd.nlp.methods import TRANSLATION_METHODS
from kd.nlp.methods.vocabulary_check import require_same_vocabulary
from kd.nlp.model_zoo import load_nlp_model, save_nlp_model
from kd.nlp.student_model import check_student_keys, initialise, student_from_teacher_config
from kd.nlp.tasks.teacher_cache import teacher_cache_path
from kd.nlp.tasks.training import (SCHEDULE_KEYS, evaluation_target, fit, moved_to_model_sections,
                                   refuse_empty_splits)
from kd.nlp.teacher_model import (HFSeq2Seq, TransformerSeq2Seq, check_max_length, load_seq2seq,
                                  save_pretrained_folder)
from kd.nlp.tokenizer_spec import tokenizer_spec

TEACHER, STUDENT, BEAM_TARGETS = "teacher", "student", "teacher_beam_targets.pt"
SIZE_KEYS = ("d_model", "nhead", "num_encoder_layers", "num_decoder_layers", "dim_feedforward", "dropout")
ARCHS = ("seq2seq_transformer", "hf_seq2seq")
# How a BLEU figure was scored (the final record's and table's ``bleu_scoring``).
STANDARD_BLEU = "sacreBLEU 13a, cased, detokenised"
WORD_BLEU = "lower-cased words"  # the word tokenizer's: not comparable with published BLEU


def load_pairs(cfg: dict) -> dict:
    """The splits, the training pairs cut to ``data.train_subset`` and the validation and test pairs to
    ``data.dev_subset`` (the first N of each; null: all). An unknown ``data.tokenizer`` is refused first."""
    d = cfg["data"]
    check_tokenizer_kind(d.get("tokenizer", "word"))
    splits = build_checked(TRANSLATION_DATASETS, d["name"], **section_options(TRANSLATION_DATASETS, d, "data"))
    cuts = {"train": subset_size(d, "train_subset"), "validation": subset_size(d, "dev_subset"),
            "test": subset_size(d, "dev_subset")}
    prefix = d.get("source_prefix") or ""
    cut = {split: pairs[: cuts[split]] if cuts.get(split) else pairs for split, pairs in splits.items()}
    return refuse_empty_splits({split: [(prefix + s, t) for s, t in pairs] for split, pairs in cut.items()}, d["name"],
                               "sentence pairs")


def encode_pairs(pairs, src_tok: WordTokenizer, tgt_tok: WordTokenizer, max_length: int) -> list[dict]:
    return [{"src": src_tok.encode(s)[:max_length] or [src_tok.unk_token_id],
             "tgt": tgt_tok.encode(t)[: max_length - 1], "index": i}
            for i, (s, t) in enumerate(pairs)]


def make_loader(items: list[dict], tgt_tok: WordTokenizer, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    collate = Seq2SeqCollator(tgt_tok.pad_token_id, tgt_tok.bos_token_id, tgt_tok.eos_token_id)
    return bucketed_loader(items, [len(it["src"]) for it in items], batch_size, collate, seed=seed, shuffle=shuffle)


def batch_nll(model, batch: dict) -> tuple[float, int]:
    """Summed NLL of a batch's target tokens, teacher-forced, and their count."""
    return token_nll(model(batch["src"], batch["src_mask"], batch["tgt_in"]), batch["tgt_out"], batch["tgt_mask"])


@torch.inference_mode()
def translate(model, items: list[dict], tgt_tok: WordTokenizer, device, beam_size: int, batch_size: int,
              desc: str = "beam search") -> list[list[int]]:
    """Beam-search outputs (target id lists) for every item, in the items' order.

    Under bf16 autocast where the device has it (``precision=auto``, as training: CUDA, CPUs with native bf16); the
    scores are summed in fp32. Items are batched by source length; under torch.distributed each rank decodes every
    W-th batch and the ranks' outputs are gathered, so every rank returns all of them.
    """
    was_training = model.training
    model.eval()
    collate = Seq2SeqCollator(tgt_tok.pad_token_id, tgt_tok.bos_token_id, tgt_tok.eos_token_id)
    order = sorted(range(len(items)), key=lambda i: len(items[i]["src"]))
    chunks = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    mine: list[tuple[int, list[int]]] = []
    for chunk in tqdm(chunks[distributed.get_rank()::distributed.get_world_size()], desc=desc, leave=False,
                      disable=not distributed.is_main()):
        batch = collate([items[i] for i in chunk])
        src, src_mask = batch["src"].to(device), batch["src_mask"].to(device)
        with autocast(device):
            if isinstance(model, HFSeq2Seq):  # a pretrained model's own generate
                hyps = model.generate_ids(src, src_mask, tgt_tok.eos_token_id, tgt_tok.pad_token_id,
                                          beam_size=beam_size)
            else:
                hyps = beam_search(model, src, src_mask, tgt_tok.bos_token_id, tgt_tok.eos_token_id,
                                   tgt_tok.pad_token_id, beam_size=beam_size)
        mine += zip(chunk, hyps)
    model.train(was_training)
    outputs: list[list[int]] = [[] for _ in items]
    for part in distributed.all_gather_objects(mine):
        for i, hyp in part:
            outputs[i] = hyp
    return outputs


def bleu_report(model, pairs, src_tok, tgt_tok, cfg: dict, device) -> dict:
    items = encode_pairs(pairs, src_tok, tgt_tok, cfg["data"]["max_length"])
    start = time.perf_counter()
    hyps = translate(model, items, tgt_tok, device, cfg["evaluate"]["beam_size"], cfg["data"]["eval_batch_size"])
    seconds = time.perf_counter() - start
    hypotheses = [tgt_tok.decode(h) for h in hyps]
    references, scoring = bleu_references([t for _, t in pairs], tgt_tok)
    return {"bleu": corpus_bleu(hypotheses, references), "bleu_scoring": scoring, "throughput": len(pairs) / seconds,
            "example": f"{pairs[0][0]} -> {hypotheses[0]}"}


def bleu_references(references: list[str], tgt_tok) -> tuple[list[str], str]:
    """The references BLEU is computed against, and how it is scored. A tokenizer that detokenises (a pretrained
    model's, :class:`~kd.nlp.data.BPETokenizer`) writes cased text: sacreBLEU's standard scoring against the
    references as they are. The word tokenizer writes lower-cased words, so its references are lower-cased and split
    alike (:data:`WORD_BLEU`)."""
    if isinstance(tgt_tok, WordTokenizer):
        return [" ".join(split_words(t)) for t in references], WORD_BLEU
    return list(references), STANDARD_BLEU


def build_vocabularies(cfg: dict, train_pairs) -> tuple:
    """``(source tokenizer, target tokenizer)`` of a from-scratch teacher, learnt from the training pairs:
    ``data.tokenizer=bpe``, one joint BPE vocabulary of ``data.vocab_size`` on both sides (the same object twice);
    ``word``, one lower-cased word vocabulary per language (``data.min_freq``)."""
    d = cfg["data"]
    if d.get("tokenizer", "word") == "bpe":
        joint = build_tokenizer("bpe", [text for pair in train_pairs for text in pair], d["min_freq"], d["vocab_size"])
        return joint, joint
    return tuple(build_tokenizer("word", (pair[side] for pair in train_pairs), d["min_freq"], d.get("vocab_size"))
                 for side in (0, 1))


def build_model(sizes: dict, src_tok: WordTokenizer, tgt_tok: WordTokenizer, max_length: int):
    kwargs = dict(src_vocab_size=len(src_tok), tgt_vocab_size=len(tgt_tok), max_length=max_length,
                  pad_id=tgt_tok.pad_token_id, **{k: sizes[k] for k in SIZE_KEYS})
    return TransformerSeq2Seq(**kwargs), kwargs


def load_teacher(cfg: dict):
    """``(model, source tokenizer, target tokenizer)``: ``teacher.checkpoint`` (a train_teacher result) or else the
    pretrained ``teacher.name``."""
    t = cfg["teacher"]
    if t.get("checkpoint"):
        model, toks, _ = load_nlp_model(t["checkpoint"], expected_arch=ARCHS)
        return model, toks["source"], toks["target"]
    if t.get("name"):
        return load_seq2seq(t["name"], "teacher.name")
    raise ConfigError("pass teacher.name=<hub id or save_pretrained folder> (e.g. Helsinki-NLP/opus-mt-de-en), or "
                      "teacher.checkpoint= the checkpoints/model.pt file or checkpoints/model folder of a "
                      "train_teacher run; students reuse its vocabularies")


def build_student(cfg: dict, teacher, src_tok, tgt_tok):
    """``(model, source tokenizer, target tokenizer, kwargs)``: the pretrained ``student.name``, or the teacher's
    architecture made smaller (``student.config``, pretrained teacher) or a transformer of ``student.d_model``...
    (from-scratch teacher), at random or from alternate teacher layers (``student.init``); ``kwargs`` rebuild a
    from-scratch one. A student key the chosen way does not read is refused first (:func:`check_student_keys`)."""
    s = cfg["student"]
    check_student_keys(s, "translation", SIZE_KEYS, isinstance(teacher, HFSeq2Seq),
                       '"student.config={encoder_layers: 3, decoder_layers: 1}" for Marian')
    init = s.get("init", "random")
    if s.get("name"):
        model, s_src, s_tgt = load_seq2seq(s["name"], "student.name")
        require_same_vocabulary(src_tok, s_src, f"student.name={s['name']}")
        require_same_vocabulary(tgt_tok, s_tgt, f"student.name={s['name']}")
        return model, s_src, s_tgt, None
    if isinstance(teacher, HFSeq2Seq):
        student = HFSeq2Seq(student_from_teacher_config(teacher.model, s.get("config") or {}, init))
        return student, src_tok, tgt_tok, None
    model, kwargs = build_model(s, src_tok, tgt_tok, cfg["data"]["max_length"])
    return initialise(model, teacher, init), src_tok, tgt_tok, kwargs


def save(model, src_tok, tgt_tok, kwargs: dict | None, run: RunFolder, role: str) -> Path:
    """A pretrained-kind model as the save_pretrained folder ``checkpoints/model/``, a from-scratch one as
    ``checkpoints/model.pt``; ``role`` (teacher, student) names it in the message."""
    if isinstance(model, HFSeq2Seq):
        path = save_pretrained_folder(model, tgt_tok, run.checkpoints / MODEL_FOLDER)
    else:
        path = save_nlp_model(model, run.checkpoints / MODEL_CHECKPOINT, "seq2seq_transformer", kwargs,
                              {"source": tokenizer_spec(src_tok), "target": tokenizer_spec(tgt_tok)})
    print(f"{role} saved: {path}")
    return path


# Keys of earlier versions, refused with what replaces them: the distill keys of the sum-of-terms method translation
# had (now one method per idea, each with its section methods.<name>: the same losses), and the training settings
# once in train: and distill: (now teacher: and student:).
RENAMED = {
    "distill.weights": "method.name and methods.<name>.<argument> for translation: {ce: 1.0} is "
                       "method.name=supervised; {ce: 1-a, kd: a} is method.name=word_kd methods.word_kd.alpha=a; "
                       "with distill.targets=teacher_beam, {ce: 1.0} is method.name=seq_kd and {ce: 1-a, kd: a} is "
                       "method.name=seq_word_kd methods.seq_word_kd.alpha=a",
    "distill.temperature": "methods.<name>.temperature (e.g. methods.word_kd.temperature=2): each method has its own "
                           "section methods.<name> in the preset",
    "distill.targets": "method.name: teacher_beam is method.name=seq_kd (CE alone) or seq_word_kd (with word-level "
                       "KD); reference is method.name=supervised or word_kd",
    "distill.beam_size": "methods.seq_kd.beam_size (or methods.seq_word_kd.beam_size)",
    "distill.label_smoothing": "methods.<name>.label_smoothing (e.g. methods.word_kd.label_smoothing=0.1)",
    **moved_to_model_sections((*SCHEDULE_KEYS, "label_smoothing"), SCHEDULE_KEYS),
}


class TranslationTask:
    columns = ["model", "bleu", "bleu_scoring", "val_ppl", "params", "throughput", "train_pairs"]
    renamed = RENAMED

    @staticmethod
    def check_config(cfg: dict) -> None:
        """Before anything is loaded (once, by :func:`kd.nlp.scripts.launch.load_nlp_config`, which has refused the
        keys of :data:`RENAMED`): ``method.name`` a translation method; every section ``methods.<name>`` a known
        method's, its keys that constructor's arguments (a near miss names the one meant)."""
        check_method_sections(cfg, TRANSLATION_METHODS, "translation")

    @staticmethod
    def _train(model, method, cfg, role, splits, src_tok, tgt_tok, run, device, resume, teacher=None,
               targets=None) -> None:
        """Train ``model`` on the training pairs (their targets replaced by ``targets`` when given) with the settings
        of its section ``cfg[role]`` (``role``: teacher or student)."""
        sched, max_length = cfg[role], cfg["data"]["max_length"]
        train_items = encode_pairs(splits["train"], src_tok, tgt_tok, max_length)
        if targets is not None:
            for item, target in zip(train_items, targets):
                item["tgt"] = target[: max_length - 1]
        val_loader = make_loader(encode_pairs(splits["validation"], src_tok, tgt_tok, max_length), tgt_tok,
                                 cfg["data"]["eval_batch_size"], False, cfg["seed"])
        loader = make_loader(train_items, tgt_tok, sched["batch_size"], True, cfg["seed"])
        fit(model, method, loader, epochs=sched["epochs"], lr=sched["lr"], weight_decay=sched["weight_decay"],
            warmup=sched["warmup"], device=device, run=run, teacher=teacher, resume=resume, lr_key=f"{role}.lr",
            evaluate=lambda epoch: {"val_ppl": loader_perplexity(model, val_loader, device, batch_nll)})

    @staticmethod
    def train_teacher(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        splits = load_pairs(cfg)
        name = cfg["teacher"].get("name")
        if name:
            (model, src_tok, tgt_tok), kwargs = load_seq2seq(name, "teacher.name"), None
        else:
            start = time.perf_counter()
            src_tok, tgt_tok = build_vocabularies(cfg, splits["train"])
            print(f"{cfg['data'].get('tokenizer', 'word')} tokenizer learnt from {len(splits['train']):,} training "
                  f"pairs in {time.perf_counter() - start:.1f} s")
            model, kwargs = build_model(cfg["teacher"], src_tok, tgt_tok, cfg["data"]["max_length"])
        vocabularies = (f"joint vocabulary {len(src_tok):,}" if src_tok is tgt_tok else
                        f"vocabularies {len(src_tok):,} (source) / {len(tgt_tok):,} (target)")
        print(f"teacher{f' {name}' if name else ''}: {count_parameters(model):,} parameters; {vocabularies}; "
              f"{len(splits['train']):,} training pairs")
        method = TRANSLATION_METHODS.get("supervised")(label_smoothing=cfg["teacher"]["label_smoothing"])
        check_max_length(cfg["data"]["max_length"], {"teacher": model})
        run = open_run()
        TranslationTask._train(model, method, cfg, TEACHER, splits, src_tok, tgt_tok, run, device, resume)
        save(model, src_tok, tgt_tok, kwargs, run, TEACHER)
        return TranslationTask._final("teacher", model, cfg, splits, src_tok, tgt_tok, device)

    @staticmethod
    def distill(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        dc = cfg["distill"]
        method = TRANSLATION_METHODS.get(cfg["method"]["name"])(**method_settings(cfg))
        if method.uses_beam_outputs and dc.get("cache_dir"):  # the beam-output cache, checked before any work
            require_writable_folder(dc["cache_dir"], "distill.cache_dir")
        teacher, src_tok, tgt_tok = load_teacher(cfg)
        splits = load_pairs(cfg)
        teacher.to(device)
        model, src_tok, tgt_tok, kwargs = build_student(cfg, teacher, src_tok, tgt_tok)
        check_max_length(cfg["data"]["max_length"], {"teacher": teacher, "student": model})
        run = open_run()
        targets = None
        if method.uses_beam_outputs:
            targets = _teacher_beam_targets(teacher, splits["train"], src_tok, tgt_tok, cfg, run, device,
                                            method.beam_size)
        label = ("student alone" if not method.teacher_outputs else
                 "student + " + " + ".join((["sequence-level KD"] if method.uses_beam_outputs else []) +
                                           (["word-level KD"] if method.needs_teacher else [])))
        print(f"{label}: {count_parameters(model):,} parameters (teacher {count_parameters(teacher):,})")
        TranslationTask._train(model, method, cfg, STUDENT, splits, src_tok, tgt_tok, run, device, resume,
                               teacher=teacher, targets=targets)
        save(model, src_tok, tgt_tok, kwargs, run, STUDENT)
        return TranslationTask._final(label, model, cfg, splits, src_tok, tgt_tok, device)

    @staticmethod
    def evaluate(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        """``evaluate.checkpoint``; without one, the teacher (``teacher.checkpoint``, or the pretrained ``teacher.name``
        as it is)."""
        label = evaluation_target(cfg)
        if cfg["evaluate"].get("checkpoint"):
            model, toks, _ = load_nlp_model(label, expected_arch=ARCHS)
            src_tok, tgt_tok = toks["source"], toks["target"]
        else:
            model, src_tok, tgt_tok = load_teacher(cfg)
        check_max_length(cfg["data"]["max_length"], {"evaluated model": model})
        splits = load_pairs(cfg)
        open_run()  # every check passed (--dry-run exits here, before the beam search)
        return TranslationTask._final(label, model.to(device), cfg, splits, src_tok, tgt_tok, device)

    @staticmethod
    def _final(label, model, cfg, splits, src_tok, tgt_tok, device) -> dict:
        split = cfg["evaluate"]["split"]
        val_loader = make_loader(encode_pairs(splits["validation"], src_tok, tgt_tok, cfg["data"]["max_length"]),
                                 tgt_tok, cfg["data"]["eval_batch_size"], False, cfg["seed"])
        report = bleu_report(model, splits[split], src_tok, tgt_tok, cfg, device)
        print(f"example ({split}): {report.pop('example')}")
        return {"model": label, "bleu": report["bleu"], "bleu_scoring": report["bleu_scoring"],
                "val_ppl": loader_perplexity(model, val_loader, device, batch_nll), "params": count_parameters(model),
                "throughput": report["throughput"], "train_pairs": len(splits["train"]), "bleu_split": split,
                "beam_size": cfg["evaluate"]["beam_size"]}


def _teacher_beam_targets(teacher, pairs, src_tok, tgt_tok, cfg: dict, run: RunFolder, device,
                          beam: int) -> list[list[int]]:
    """Kim & Rush's sequence-level KD data: the teacher's beam output (beam ``beam``, the method's ``beam_size``) for
    every training source, computed once and kept in ``distill.cache_dir`` (null: the run folder), named by the
    teacher's fingerprint and the settings that change the outputs, the beam size among them
    (:mod:`kd.nlp.tasks.teacher_cache`), so the students of every seed share one decoding."""
    d = cfg["data"]
    settings = {k: d.get(k) for k in ("name", "path", "train_subset", "max_length", "source_prefix")}
    path = teacher_cache_path(cfg, run, {**settings, "beam_size": beam}, BEAM_TARGETS)
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        if len(cached) == len(pairs):
            print(f"sequence-level KD: the teacher's beam outputs on {len(pairs):,} training sources read from {path}")
            return cached
    items = encode_pairs(pairs, src_tok, tgt_tok, d["max_length"])
    print(f"sequence-level KD: teacher beam search (k={beam}) over {len(items):,} training sources -> {path}")
    start = time.perf_counter()
    targets = translate(teacher, items, tgt_tok, device, beam, d["eval_batch_size"], desc="teacher beam outputs")
    seconds = time.perf_counter() - start
    atomic_save_on_main(targets, path)
    print(f"decoded in {seconds:.0f} s ({len(items) / seconds:.1f} sentences/s)")
    return targets
