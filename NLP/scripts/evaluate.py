"""Evaluate a saved teacher or student checkpoint.

    python -m kd.nlp.scripts.evaluate --config NLP/configs/sst2.yaml evaluate.checkpoint=RUN_DIR/checkpoints/model.pt \
        [teacher.checkpoint=T.pt] [key.sub=value ...]

The config's ``task`` (classification, translation, language_model) selects what runs; see NLP/README.md. The model
scored is ``evaluate.checkpoint`` and the teacher ``teacher.checkpoint``, as in vision's and RL's evaluate; their
``--checkpoint`` and ``--teacher`` of earlier versions are refused naming those keys. For text classification either
may list several train_teacher checkpoints (``evaluate.checkpoint=[A.pt,B.pt,C.pt]``): one ensemble, the mean of
their logits.
"""
from kd.common.utils.cli import main_entry
from kd.nlp.scripts.launch import run_stage


def main(argv=None):
    return run_stage("evaluate", "Evaluate a saved teacher or student checkpoint", argv)


if __name__ == "__main__":
    main_entry(main)
