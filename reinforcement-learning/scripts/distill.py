"""Distil a trained teacher policy into a smaller student.

    python -m kd.rl.scripts.distill --config cartpole \
        teacher.checkpoint=runs/rl-cartpole-train_teacher-s1-.../checkpoints/model.pt distill.data=student

``method.name``: ``policy_distillation`` (Rusu et al. 2015; data from the teacher's, the student's or mixed
rollouts, as ``distill.data`` says) or ``kickstarting`` (Schmitt et al. 2018: PPO + annealed distillation term);
each method's arguments are its own section ``methods.<name>`` (``methods.policy_distillation.temperature=0.01``,
``methods.kickstarting.total_steps=50000``: :mod:`kd.rl.distillation.methods`), checked against its constructor with
a "did you mean" for a near miss. Policy distillation collects states as the ``distill`` section says and trains the
student as the ``student`` section says, beside its network (``student.lr``, ``student.batch_size``,
``student.updates_per_iteration``, as vision's and NLP's students); kickstarting trains by PPO
(``methods.kickstarting``, ``teacher.ppo``), reads only ``distill.eval_episodes`` of the ``distill`` section and the
student's network, and refuses policy distillation's other keys set for it
(:func:`refuse_policy_distillation_keys`). Teacher and student are evaluated on the same
held-out seeds; the table gives the student's return, its percentage of the teacher's and the compression ratio.
``--resume RUN_DIR`` continues an interrupted run from its last iteration with the same teacher
(:mod:`kd.rl.resume`). The teacher (``teacher.checkpoint``, the key vision and NLP use for it too) is loaded and
checked against the environment before the run folder is made; ``methods.<name>.loss=auto`` is KL for discrete
actions and the Gaussian KL for continuous ones. Writes the student to ``checkpoints/model.pt`` and the loop state
``--resume`` continues from to ``checkpoints/last.pt``.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, replace

from torch import nn

from kd.common.metrics.rl import format_return, percent_of_teacher
from kd.common.utils.checkpoint import MODEL_CHECKPOINT
from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.config import dataclass_from_dict, did_you_mean, load_yaml
from kd.common.utils.errors import ConfigError
from kd.common.utils.method_sections import check_method_sections, method_settings
from kd.common.utils.plotting import figures_markdown
from kd.rl.distillation import DATA_SOURCES, DistillConfig, StudentTraining
from kd.rl.distillation.losses import check_temperature, loss_for_actions
from kd.rl.distillation.methods import METHODS, WHAT, Kickstarting, PolicyDistillation, method_setting
from kd.rl.evaluation import evaluate_policy, percent_baseline, percent_heading
from kd.rl.figures import run_figures
from kd.rl.run_setup import DEFAULT_CONFIG, setup_run
from kd.rl.student_model import build_student, size_report
from kd.rl.teacher_model.checkpoint import load_policy_for, save_policy


# What kickstarting, which trains by PPO as methods.kickstarting and teacher.ppo say, reads of the two sections
# policy distillation trains from: the periodic evaluation's episodes, and the student's network.
KICKSTARTING_READS = {"distill": ("eval_episodes",), "student": ("network", "arch")}


def refuse_policy_distillation_keys(config: dict, args: argparse.Namespace) -> None:
    """Under ``method.name=kickstarting``, a key of ``distill`` or ``student`` that only policy distillation reads (all
    but KICKSTARTING_READS: the collection loop, and the student's training settings ``student.lr``,
    ``student.batch_size``, ``student.updates_per_iteration``) set for this run would be ignored: refused in one line
    naming where kickstarting takes that setting from (``student.lr`` -> ``methods.kickstarting.lr``). Set for this
    run means typed on the command line, or, when a preset picks kickstarting itself (``method.name`` neither typed
    nor resumed), given a value other than default.yaml's. A preset written for policy distillation keeps its
    ``distill`` loop and ``student`` training when the command line switches ``method.name``, and a resumed run the
    values it was checked with when it began."""
    if config["method"]["name"] != "kickstarting":
        return
    typed = {item.split("=", 1)[0].lstrip("+") for item in args.overrides}
    preset_picks_kickstarting = "method.name" not in typed and not args.resume
    defaults, ppo = load_yaml(DEFAULT_CONFIG), config["teacher"]["ppo"]
    for section, reads in KICKSTARTING_READS.items():
        for key, value in config[section].items():
            set_for_this_run = f"{section}.{key}" in typed or (
                preset_picks_kickstarting and value != defaults[section].get(key))
            if key in reads or not set_for_this_run:
                continue
            instead = next((f", or set {home}.{key}={value!r}" for home, keys in
                            (("methods.kickstarting", config["methods"]["kickstarting"]), ("teacher.ppo", ppo))
                            if key in keys), "")
            raise ConfigError(f"{section}.{key}={value!r} is not read by method.name=kickstarting, which reads only "
                              f"{', '.join(f'{section}.{k}' for k in reads)} of that section and takes its "
                              f"settings from methods.kickstarting and teacher.ppo: drop it{instead}")


def prepare(config: dict, device, state: dict | None, args: argparse.Namespace
            ) -> tuple[Kickstarting | PolicyDistillation, DistillConfig, StudentTraining, nn.Module, nn.Module]:
    """``(method, loop settings, student training settings, teacher, student)`` before the run folder exists:
    ``method.name`` a known method and every ``methods.<name>`` section its constructor's arguments, no ``distill``
    or ``student`` key set that the method would not read (:func:`refuse_policy_distillation_keys`), ``distill.data``
    a known data source, the teacher checked against the environment, the method's ``loss`` (``auto`` resolved, and
    recorded so in the config) fitting the teacher's actions and reading the ``temperature`` if one is set, and the
    student built from the ``student`` section (so a misspelt ``student.arch`` key is refused here)."""
    name = check_method_sections(config, METHODS, WHAT)
    refuse_policy_distillation_keys(config, args)
    loop = dataclass_from_dict(DistillConfig, config["distill"], "distill")
    training = StudentTraining.from_section(config["student"])
    if loop.data not in DATA_SOURCES:
        raise ConfigError(f"unknown distill.data '{loop.data}'{did_you_mean(loop.data, DATA_SOURCES.names())}")
    if not config["teacher"]["checkpoint"]:
        raise ConfigError("pass teacher.checkpoint=PATH (the checkpoints/model.pt a train_teacher run wrote)")
    teacher, _ = load_policy_for(config["teacher"]["checkpoint"], config["env"], device, "teacher.checkpoint")
    method = METHODS.get(name)(**method_settings(config))
    method = replace(method, loss=loss_for_actions(method.loss, teacher.arch_kwargs["action_kind"],
                                                   f"methods.{name}.loss"))
    check_temperature(method.loss, method.temperature, f"methods.{name}")
    config["methods"] = {**(config.get("methods") or {}), name: asdict(method)}
    student = build_student(config["student"], teacher, config["env"], with_critic=method.student_critic)
    return method, loop, training, teacher, student.to(device)


def main(argv: list[str] | None = None) -> dict:
    args = common_parser("Distil a teacher policy into a smaller student",
                         renamed={"--teacher": "teacher.checkpoint"}).parse_args(argv)  # the flag of earlier versions
    setup = setup_run(args, "distill",
                      lambda config, device, state: prepare(config, device, state, args))
    config, run, env = setup.config, setup.run, setup.env
    method, loop, training, teacher, student = setup.prepared
    name, teacher_path = config["method"]["name"], config["teacher"]["checkpoint"]

    def evaluate(policy):
        return evaluate_policy(policy, env, loop.eval_episodes, seed=setup.periodic_seed, device=setup.device)

    method.train(setup, loop, training, teacher, student, evaluate, run.log_epoch)
    episodes, seed = config["evaluate"]["episodes"], config["evaluate"]["seed"]
    teacher_stats = evaluate_policy(teacher, env, episodes, seed, device=setup.device)
    student_stats = evaluate_policy(student, env, episodes, seed, device=setup.device)
    sizes = size_report(teacher, student)
    random_return = percent_baseline(teacher_stats["return_mean"], env, episodes, seed)
    percent = percent_of_teacher(student_stats["return_mean"], teacher_stats["return_mean"], random_return)
    save_policy(student, run.checkpoints / MODEL_CHECKPOINT, env, algo=name, teacher=str(teacher_path),
                eval_return_mean=student_stats["return_mean"], eval_return_std=student_stats["return_std"])
    final = {"teacher_return_mean": teacher_stats["return_mean"], "teacher_return_std": teacher_stats["return_std"],
             "student_return_mean": student_stats["return_mean"], "student_return_std": student_stats["return_std"],
             "student_returns": student_stats["returns"], "percent_of_teacher": percent,
             "percent_random_return": random_return, **sizes,
             "method": name, "loss": method.loss, "data": loop.data, "teacher_checkpoint": str(teacher_path),
             "trained_steps": run.history[-1]["steps"],
             "stopped_by_time_budget": bool(run.history[-1].get("stopped_by_time_budget"))}
    run.log_final(final)
    setting = method_setting(config, final)
    figures = run_figures(run, f"{name} ({setting}) on {env['name']}",
                          losses={"distillation loss": "loss", "distillation term": "distill",
                                  "PPO policy loss": "policy_loss"})
    table = (f"| policy | policy params | return (held-out seeds) | {percent_heading(random_return)} |\n"
             f"|---|---|---|---|\n"
             f"| teacher | {sizes['teacher_parameters']:,} | {format_return(teacher_stats)} | 100.0 |\n"
             f"| student ({name}, {setting}) | {sizes['student_parameters']:,} "
             f"({sizes['compression']:.1f}x smaller) | {format_return(student_stats)} | {percent:.1f} |\n")
    run.write_summary(f"{table}\n{figures_markdown(figures, run.path)}")
    run.close()
    print(table)
    print(f"student checkpoint: {run.checkpoints / MODEL_CHECKPOINT}")
    return final


if __name__ == "__main__":
    main_entry(main)
