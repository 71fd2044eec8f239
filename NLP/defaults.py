"""Where the NLP defaults live: ``NLP/configs/default.yaml`` (every key with its default and a comment: the keys every
task shares, then a section per task). Its own module so that the launcher (:mod:`kd.nlp.scripts.launch`, which
builds a run's config from it) and the tasks (which refuse a key their chosen model does not read unless it holds
its default) read one file without the tasks importing the scripts."""
from __future__ import annotations

from pathlib import Path

from kd.common.utils.config import load_yaml

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"  # every key with its default: the shared keys, then a section a task


def task_section(task_name: str) -> dict:
    """The keys of task ``task_name``'s own section of default.yaml (``language_model``: data, teacher, student...)
    at their defaults, read afresh (the caller may change it)."""
    return load_yaml(DEFAULT_CONFIG)[task_name]
