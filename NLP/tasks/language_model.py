"""GPT-2-style causal-LM distillation: a larger GPT-2 config trained from scratch on local sentences, a smaller
one trained alone and with token-level KL on the next-token distributions; perplexity for all three.

Each sentence is one example ``<bos> w_1 .. w_n <eos>`` over a word-level vocabulary
(:class:`kd.nlp.data.WordTokenizer`, built by ``train_teacher`` and reused by the student so the
distributions are over the same tokens). Perplexity is per word-level token, ``<eos>`` included.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.utils.data import DataLoader

from kd.common.metrics import count_parameters, measure_latency
from kd.common.engine import loader_perplexity
from kd.common.metrics.text import token_nll
from kd.common.utils.errors import ConfigError
from kd.common.utils.run_folder import RunFolder
from kd.nlp.data import CausalLMCollator, WordTokenizer, bucketed_loader, load_lm_data
from kd.nlp.methods import CausalLMKD
from kd.nlp.methods.causal_lm import next_token_view
from kd.nlp.model_zoo import load_nlp_model, save_nlp_model, tokenizer_spec
from kd.nlp.tasks.training import fit
from kd.nlp.teacher_model import build_gpt2_lm

TEACHER_FILE, STUDENT_FILE = "teacher.pt", "student.pt"
SIZE_KEYS = ("n_layer", "n_embd", "n_head", "dropout")


def load_sentences(cfg: dict) -> dict:
    d = cfg["data"]
    splits = load_lm_data(d["name"], path=d.get("path"), train_file=d.get("train_file"), dev_file=d.get("dev_file"))
    cuts = {"train": d.get("train_subset"), "validation": d.get("dev_subset")}
    return {split: lines[: cuts[split]] if cuts.get(split) else lines for split, lines in splits.items()}


def make_loader(sentences: list[str], tok: WordTokenizer, cfg: dict, batch_size: int, shuffle: bool) -> DataLoader:
    max_length = cfg["data"]["max_length"]
    items = [tok.encode(s, add_bos=True, add_eos=True)[:max_length] for s in sentences]
    return bucketed_loader(items, [len(i) for i in items], batch_size, CausalLMCollator(tok.pad_token_id),
                           seed=cfg["seed"], shuffle=shuffle)


def batch_nll(model, batch: dict) -> tuple[float, int]:
    """Summed NLL of every next token of a batch (``<eos>`` included, padding excluded) and their count."""
    ids, attn = batch["input_ids"], batch["attention_mask"]
    return token_nll(*next_token_view(model(input_ids=ids, attention_mask=attn).logits, ids, attn))


def validation_perplexity(model, loader, device) -> float:
    return loader_perplexity(model, loader, device, batch_nll)


def build_model(sizes: dict, tok: WordTokenizer, max_length: int):
    kwargs = dict(vocab_size=len(tok), n_positions=max_length, pad_id=tok.pad_token_id, bos_id=tok.bos_token_id,
                  eos_id=tok.eos_token_id, **{k: sizes[k] for k in SIZE_KEYS})
    return build_gpt2_lm(**kwargs), kwargs


class LanguageModelTask:
    columns = ["model", "val_ppl", "params", "throughput", "train_sentences"]

    @staticmethod
    def _train(model, method, cfg, sched, splits, tok, run, device, resume, lr_key, teacher=None) -> DataLoader:
        val_loader = make_loader(splits["validation"], tok, cfg, 128, False)
        fit(model, method, make_loader(splits["train"], tok, cfg, sched["batch_size"], True), epochs=sched["epochs"],
            lr=sched["lr"], weight_decay=sched["weight_decay"], warmup=sched["warmup"], device=device, run=run,
            teacher=teacher, resume=resume, lr_key=lr_key,
            evaluate=lambda epoch: {"val_ppl": validation_perplexity(model, val_loader, device)})
        return val_loader

    @staticmethod
    def train_teacher(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        splits = load_sentences(cfg)
        tok = WordTokenizer.build(splits["train"], cfg["data"]["min_freq"])
        model, kwargs = build_model(cfg["teacher"], tok, cfg["data"]["max_length"])
        print(f"teacher: {count_parameters(model):,} parameters; vocabulary {len(tok):,}; "
              f"{len(splits['train']):,} training sentences")
        run = open_run()
        val_loader = LanguageModelTask._train(model, CausalLMKD({"ce": 1.0}), cfg, cfg["train"], splits, tok, run,
                                              device, resume, "train.lr")
        save_nlp_model(model, run.checkpoints / TEACHER_FILE, "gpt2_lm", kwargs, {"main": tokenizer_spec(tok)})
        return LanguageModelTask._final("teacher", model, val_loader, splits, cfg, device)

    @staticmethod
    def distill(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        if not cfg["teacher"].get("checkpoint"):
            raise ConfigError("pass teacher.checkpoint=RUN_DIR/checkpoints/teacher.pt; the student reuses its vocabulary")
        teacher, toks, _ = load_nlp_model(cfg["teacher"]["checkpoint"], expected_arch=("gpt2_lm",))
        splits = load_sentences(cfg)
        tok = toks["main"]
        model, kwargs = build_model(cfg["student"], tok, cfg["data"]["max_length"])
        dc = cfg["distill"]
        method = CausalLMKD(dict(dc["weights"]), temperature=dc["temperature"])
        label = "student + token KL" if method.needs_teacher else "student alone"
        print(f"{label}: {count_parameters(model):,} parameters (teacher {count_parameters(teacher):,})")
        run = open_run()
        val_loader = LanguageModelTask._train(model, method, cfg, dc, splits, tok, run, device, resume, "distill.lr",
                                              teacher=teacher.to(device))
        save_nlp_model(model, run.checkpoints / STUDENT_FILE, "gpt2_lm", kwargs, {"main": tokenizer_spec(tok)})
        return LanguageModelTask._final(label, model, val_loader, splits, cfg, device)

    @staticmethod
    def evaluate(cfg: dict, open_run: Callable[[], RunFolder], device: torch.device, resume: bool = False) -> dict:
        if not cfg["evaluate"].get("checkpoint"):
            raise ConfigError("pass evaluate.checkpoint=RUN_DIR/checkpoints/<teacher|student>.pt")
        model, toks, _ = load_nlp_model(cfg["evaluate"]["checkpoint"], expected_arch=("gpt2_lm",))
        splits = load_sentences(cfg)
        val_loader = make_loader(splits["validation"], toks["main"], cfg, 128, False)
        return LanguageModelTask._final(cfg["evaluate"]["checkpoint"], model.to(device), val_loader, splits, cfg, device)

    @staticmethod
    def _final(label, model, val_loader, splits, cfg, device) -> dict:
        batch = next(iter(val_loader))
        batch = {k: v[: cfg["evaluate"]["throughput_batch"]].to(device) for k, v in batch.items()}
        speed = measure_latency(model, batch, forward=lambda m, x: m(**x))["throughput"]
        return {"model": label, "val_ppl": validation_perplexity(model, val_loader, device),
                "params": count_parameters(model), "throughput": speed, "train_sentences": len(splits["train"])}
