"""Distil a student from a trained teacher, or train it alone (method.name=supervised).

    python -m kd.nlp.scripts.distill --config NLP/configs/sst2.yaml [key.sub=value ...]

The config's ``task`` (classification, translation, language_model) selects what runs; see NLP/README.md.
"""
from kd.common.utils.cli import main_entry
from kd.nlp.scripts.launch import run_stage


def main(argv=None):
    return run_stage("distill", "Distil a student from a trained teacher, or train it alone "
                     "(method.name=supervised)", argv)


if __name__ == "__main__":
    main_entry(main)
