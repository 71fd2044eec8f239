"""NLP tasks by name; each has ``train_teacher``, ``distill`` and ``evaluate`` (cfg, open_run, device, resume) ->
final metrics, ``columns`` for the final table, ``renamed`` (keys of earlier versions -> what replaces them) and
``check_config(cfg)``, which the launcher runs once on the loaded config, before any stage. The config's ``task`` key
picks one, and its defaults, the ``<task>:`` section of NLP/configs/default.yaml. A stage loads and checks its data
and checkpoints, then calls ``open_run()`` for its run folder (:mod:`kd.nlp.scripts.launch`)."""
from kd.common.utils.registry import Registry
from kd.nlp.tasks.classification import ClassificationTask
from kd.nlp.tasks.language_model import LanguageModelTask
from kd.nlp.tasks.translation import TranslationTask

TASKS: Registry = Registry("NLP task")
TASKS.register("classification")(ClassificationTask)
TASKS.register("translation")(TranslationTask)
TASKS.register("language_model")(LanguageModelTask)

__all__ = ["TASKS", "ClassificationTask", "LanguageModelTask", "TranslationTask"]
