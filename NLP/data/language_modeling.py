"""Text for causal-LM training, by name: the English side of Multi30k, SST-2 sentences, WikiText-103 (through
``datasets``), or text files.

Returns ``{"train": [str, ...], "validation": [str, ...]}``; each line is one LM example
(``<bos> t_1 .. t_n <eos>`` in the model's tokens), so perplexity counts ``<eos>`` too. Each data set takes only
its own keywords (an unknown one is a one-line ConfigError; the task picks them from its config with
:func:`kd.common.utils.registry.section_options`).
"""
from __future__ import annotations

from kd.common.utils.errors import ConfigError
from kd.common.utils.registry import Registry
from kd.nlp.data.classification import sst2
from kd.nlp.data.hub import load_hub_dataset
from kd.nlp.data.local_files import read_lines
from kd.nlp.data.translation import multi30k

LM_DATASETS: Registry[dict] = Registry("language-modelling data set")


@LM_DATASETS.register("multi30k_en")
def multi30k_en(path: str | None = None) -> dict:
    splits = multi30k(path=path)
    return {"train": [en for _, en in splits["train"]], "validation": [en for _, en in splits["validation"]]}


@LM_DATASETS.register("sst2_sentences")
def sst2_sentences(path: str | None = None) -> dict:
    data = sst2(path=path)
    return {"train": data.train_texts, "validation": data.dev_texts}


@LM_DATASETS.register("text_files")
def text_files(train_file: str | None = None, dev_file: str | None = None) -> dict:
    """Two plain (or .gz) text files, one sentence a line."""
    if not train_file or not dev_file:
        raise ConfigError("data.name=text_files needs data.train_file and data.dev_file")
    return {"train": [s for s in read_lines(train_file) if s.strip()],
            "validation": [s for s in read_lines(dev_file) if s.strip()]}


@LM_DATASETS.register("wikitext103")
def wikitext103() -> dict:
    """WikiText-103 (Merity et al. 2016, raw text) from the hub: its paragraphs, one example each; empty lines and
    ``= Heading =`` lines dropped."""
    ds = load_hub_dataset("Salesforce/wikitext", "wikitext-103-raw-v1", "pass data.name=text_files with "
                          "data.train_file=... data.dev_file=... (one example a line)")

    def paragraphs(lines):
        return [line.strip() for line in lines if line.strip() and not line.strip().startswith("=")]

    return {"train": paragraphs(ds["train"]["text"]), "validation": paragraphs(ds["validation"]["text"])}
