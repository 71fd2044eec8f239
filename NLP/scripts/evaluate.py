"""Evaluate a saved teacher or student checkpoint.

    python -m kd.nlp.scripts.evaluate --config NLP/configs/sst2.yaml [key.sub=value ...]

The config's ``task`` (classification, translation, language_model) selects what runs; see NLP/README.md.
"""
from kd.common.utils.cli import main_entry
from kd.nlp.scripts.launch import run_stage


def main(argv=None):
    return run_stage("evaluate", "Evaluate a saved teacher or student checkpoint", argv)


if __name__ == "__main__":
    main_entry(main)
