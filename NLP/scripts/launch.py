"""The body shared by the three NLP scripts: config, seed, device, run folder, the task's stage, final table.

A stage receives ``open_run``, not the run folder: it loads its data, tokenizers and checkpoints first and calls
``open_run()`` when it is about to train or evaluate, so a mistake in any of them leaves no folder behind (and, with
``--resume``, an untouched config.yaml); with ``--dry-run`` that call prints the config and exits instead. A config is
the task's defaults (``NLP/configs/default.yaml``: every key, with a comment; the keys every task shares and the task's
own section) < the preset (``--config``: a name in NLP/configs/, ``trec``, or a YAML path; without it ``sst2``; its
``task`` picks the section) < ``key.sub=value`` overrides. A model's training settings are in its own section, as in
every domain (``teacher.lr`` for train_teacher, ``student.epochs`` for distill; ``distill`` says how the teacher is
consulted). A key the defaults lack is refused naming the key meant, in a preset as on the command line; a key the task
renamed, with its new name. Every task picks its method by ``method.name`` with its own section ``methods.<name>``. The
task's ``check_config`` (the method, its arguments and their values) runs once, as the config is loaded, before any
data.
"""
from __future__ import annotations

from typing import Callable

from kd.common.utils.cli import EVALUATE_FLAGS, common_parser, exit_if_dry_run
from kd.common.utils.config import flatten, load_yaml, refuse_teacher_checkpoint, resolve_preset, saved_config
from kd.common.utils.device import resolve_device, set_threads
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import figures_markdown, plot_training_progress
from kd.common.utils.run_folder import RunFolder, run_name
from kd.common.utils.script_config import load_script_config
from kd.common.utils.seed import seed_everything
from kd.nlp.defaults import CONFIG_DIR, DEFAULT_CONFIG
from kd.nlp.tasks import TASKS
from kd.nlp.tasks.training import SCHEDULE_KEYS, results_table

DEFAULT_PRESET = "sst2"  # the preset of a run without --config (vision's: digits; RL's: CartPole)
# Mappings whose keys are free: the changes to a pretrained teacher's config that make its student
# (``student.config.n_layer=6``).
OPEN_SECTIONS = ("student.config",)
# Where the training settings of the sections of earlier versions now live: a near miss of an old key
# (``distill.epoch``, ``train.lr_rate``) is taken to mean the student's or the teacher's (``student.epochs``,
# ``teacher.lr``; kd.common.utils.config.did_you_mean).
HOMES = {"distill": "student", "train": "teacher"}
# What --resume cannot change: the run's checkpoints, vocabularies and caches were made with these (max_length also
# sets a from-scratch model's positions; bucket and the subsets, its batches and its dev set), and with the
# models of teacher: and student: (every key there but the training settings: :func:`fixed_on_resume`).
FIXED_ON_RESUME = ("seed", "task", "data.name", "data.path", "data.train_file", "data.dev_file", "data.text_column",
                   "data.label_column", "data.header", "data.train_subset", "data.dev_subset", "data.holdout",
                   "data.max_length", "data.bucket", "data.min_freq", "data.tokenizer", "data.vocab_size",
                   "data.source_prefix", "method", "methods", "distill.mode", "distill.augment")
# The training settings of teacher: and student: that --resume may change (a lower lr after a diverging loss, more
# epochs): every task's but the batch size (the schedule counts steps: kd.common.engine.Distiller), and
# translation's teacher.label_smoothing.
RESUMABLE_MODEL_KEYS = (*(key for key in SCHEDULE_KEYS if key != "batch_size"), "label_smoothing")


def run_stage(stage: str, description: str, argv: list[str] | None = None) -> dict:
    """Parse the common flags, run ``TASKS[cfg.task].<stage>`` in a new (or resumed) run folder, print the table."""
    args = common_parser(description, renamed=EVALUATE_FLAGS if stage == "evaluate" else None).parse_args(argv)
    cfg = load_nlp_config(args)
    if stage == "train_teacher":
        refuse_teacher_checkpoint(cfg["teacher"]["checkpoint"], read_by=("distill", "evaluate"),
                                  trains_from="from teacher.name or from scratch")
    task = TASKS.get(cfg["task"])
    seed_everything(cfg["seed"])
    set_threads(cfg["threads"])
    device = resolve_device(args.device)
    name = run_name("nlp", cfg["name"], stage, None if stage == "evaluate" else cfg["seed"])  # evaluate trains nothing
    open_run = run_opener(cfg, args.resume or None, name, args.runs_dir, args.dry_run)
    final = getattr(task, stage)(cfg, open_run, device, resume=bool(args.resume))
    run = open_run()
    run.log_final({**final, "stage": stage})
    plots = plot_training_progress(run.history, run.plots, title=f"{cfg['name']} {stage}")
    table = results_table([final], [c for c in task.columns if c in final])
    figures = figures_markdown([(f"{path.stem.capitalize()} per epoch.", path) for path in plots], run.path)
    run.write_summary(f"# {cfg['name']}: {stage}\n\n{table}\n\n{figures}")
    run.close()
    print(table)
    print(f"run folder: {run.path}")
    return final


def load_nlp_config(args) -> dict:
    """The config of every NLP script: :func:`~kd.common.utils.script_config.load_script_config` over the defaults of
    the task the preset (``--config``, without it DEFAULT_PRESET; or ``--resume``'s saved config, or a ``task=``
    override) names (``--resume``'s saved config plus overrides, a change to what the run cannot change,
    :func:`fixed_on_resume`, refused; else the task's defaults < the preset < overrides; ``--seed N`` is ``seed=N``, and
    on ``--resume`` must be the run's), ``name`` null becoming the preset file's name. A key the task renamed is refused
    with its new name; then the checkpoint keys are checked (:func:`check_checkpoint_keys`) and the task checks the
    config (``check_config``), once."""
    source = saved_config(args.resume) if args.resume else resolve_preset(args.config or DEFAULT_PRESET, CONFIG_DIR)
    task_name = next((o.split("=", 1)[1] for o in reversed(args.overrides) if o.split("=", 1)[0] == "task"), None)
    if task_name is None:
        task_name = load_yaml(source).get("task")
    if not isinstance(task_name, str):
        raise ConfigError(f"{source} names no task: add task: classification, translation or language_model "
                          "(their defaults are the sections of NLP/configs/default.yaml)")
    task = TASKS.get(task_name)
    defaults = task_defaults(task_name)
    cfg = load_script_config(args, defaults, CONFIG_DIR, listed_in=DEFAULT_CONFIG, preset=DEFAULT_PRESET,
                             open_sections=OPEN_SECTIONS, renamed=task.renamed, fixed=fixed_on_resume(defaults),
                             homes=HOMES)
    if not args.resume:
        cfg["name"] = cfg["name"] or source.stem
    check_checkpoint_keys(cfg, task)
    task.check_config(cfg)
    return cfg


def check_checkpoint_keys(cfg: dict, task) -> None:
    """``teacher.checkpoint`` and ``evaluate.checkpoint``: null, a path, or, where the task takes an ensemble teacher
    (``task.ensembles``: text classification), a list of paths; anything else is refused in one line."""
    ensembles = getattr(task, "ensembles", False)
    for section in ("teacher", "evaluate"):
        value = cfg[section].get("checkpoint")
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, list) and value and all(isinstance(path, str) and path for path in value):
            if ensembles:
                continue
            raise ConfigError(f"{section}.checkpoint lists {len(value)} checkpoints, and an ensemble teacher (the mean "
                              f"of their logits) is text classification's; task {cfg['task']} reads one: pass one path")
        raise ConfigError(f"{section}.checkpoint={value!r}: pass the path of a checkpoint "
                          "(RUN_DIR/checkpoints/model.pt)" + (", or a list of them, [A.pt,B.pt]" if ensembles else ""))


def task_defaults(task_name: str) -> dict:
    """Every key of a run of task ``task_name`` at its default: default.yaml's keys shared by every task, with
    ``task`` set to ``task_name`` and the keys of the task's own section beside them at the top level."""
    everything = load_yaml(DEFAULT_CONFIG)
    shared = {key: value for key, value in everything.items() if key not in TASKS}
    return {**shared, "task": task_name, **everything[task_name]}


def fixed_on_resume(defaults: dict) -> tuple[str, ...]:
    """What --resume cannot change in a run of the task whose ``defaults`` are given: FIXED_ON_RESUME and every key of
    ``teacher`` and ``student`` (their architectures and checkpoints; ``student.config`` whole) but their training
    settings (RESUMABLE_MODEL_KEYS)."""
    models = [key for key in flatten(defaults) if key.split(".")[0] in ("teacher", "student")
              and key.split(".", 1)[1] not in RESUMABLE_MODEL_KEYS]
    return (*FIXED_ON_RESUME, *models)


def run_opener(cfg: dict, resume: str | None, name: str, runs_dir: str,
               dry_run: bool = False) -> Callable[[], RunFolder]:
    """``open_run()``: the run folder (``resume``'s, or a new ``runs_dir/name-<stamp>``, ``name`` being
    ``nlp-<preset name>-<stage>[-s<seed>]``: :func:`~kd.common.utils.run_folder.run_name`), made and given the config
    on the first call; later calls return the same folder. With ``dry_run`` the first call prints the config and
    exits instead, having created nothing."""
    opened: list[RunFolder] = []

    def open_run() -> RunFolder:
        if not opened:
            exit_if_dry_run(dry_run, cfg)
            run = RunFolder(resume) if resume else RunFolder.create(name, runs_dir)
            run.save_config(cfg)
            print(f"run folder: {run.path}")
            opened.append(run)
        return opened[0]

    return open_run
