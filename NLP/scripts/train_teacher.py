"""Train (or fine-tune) the teacher of an NLP task.

    python -m kd.nlp.scripts.train_teacher --config NLP/configs/sst2.yaml [key.sub=value ...]

The config's ``task`` (classification, translation, language_model) selects what runs; see NLP/README.md.
"""
from kd.common.utils.cli import main_entry
from kd.nlp.scripts.launch import run_stage


def main(argv=None):
    return run_stage("train_teacher", "Train (or fine-tune) the teacher of an NLP task", argv)


if __name__ == "__main__":
    main_entry(main)
