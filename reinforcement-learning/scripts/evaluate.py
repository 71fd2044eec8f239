"""Evaluate saved policies: mean +- std return over N seeded episodes, % of a teacher's return, a GIF.

    python -m kd.rl.scripts.evaluate evaluate.checkpoint=runs/rl-cartpole-distill-s1-.../checkpoints/model.pt \
        teacher.checkpoint=runs/rl-cartpole-train_teacher-s1-.../checkpoints/model.pt evaluate.episodes=20 --gif

The policies scored are ``evaluate.checkpoint`` (a path, or a list of them: ``evaluate.checkpoint=[A.pt,B.pt]``) and
the teacher they are compared with ``teacher.checkpoint``, the keys vision's and NLP's evaluate read; ``--checkpoint``
and ``--teacher`` of earlier versions are refused naming them. The episodes are the config keys of every RL run's final
evaluation, with the same meaning and defaults (configs/default.yaml): ``evaluate.episodes=N`` episodes, episode i
seeded ``evaluate.seed + i`` (100000 + i), so the same checkpoint gives the same returns every time, and a distill
run's student scores here what its run reported on the same keys. A preset may set others (hopper.yaml,
halfcheetah.yaml and pong.yaml: ``evaluate.episodes: 10``): for a policy whose run (the ``config.yaml`` beside its
``checkpoints/``) evaluated on other episodes than these, and whose keys were not passed, a line says so and names
the keys that score what its run printed. Each checkpoint is played under the environment settings stored in
it: evaluate reads no other config, and refuses ``--config``, ``--resume`` and any other ``key=value`` in one line;
``--seed``, a run's config seed in every other script (evaluate trains nothing), is refused with a pointer to
``evaluate.seed``, and ``--episodes`` of earlier versions with one to ``evaluate.episodes``. A policy is labelled by
its run folder (``rl-cartpole-distill-s1-<stamp>``, with the file's name when it is not ``model.pt``:
``...-<stamp>-best``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from kd.common.metrics.rl import format_return, percent_of_teacher
from kd.common.utils.checkpoint import MODEL_CHECKPOINT
from kd.common.utils.cli import EVALUATE_FLAGS, common_parser, exit_if_dry_run, main_entry
from kd.common.utils.config import apply_overrides, load_yaml
from kd.common.utils.device import resolve_device
from kd.common.utils.errors import ConfigError
from kd.common.utils.run_folder import RunFolder, run_name
from kd.rl.evaluation import evaluate_policy, percent_baseline, percent_heading
from kd.rl.run_setup import DEFAULT_CONFIG, RENAMED
from kd.rl.teacher_model.checkpoint import load_policy
from kd.rl.video import record_gif


def policy_labels(paths: list[str]) -> list[tuple[str, str]]:
    """``(label, path)`` of each policy: the run folder of a file in a run's ``checkpoints/`` (the file's name added
    unless it is ``model.pt``), else the file's name; a label met again gets ``-2``, ``-3``... (they name the GIFs)."""
    labelled, seen = [], {}
    for path in paths:
        file = Path(path)
        label = file.stem
        if file.parent.name == "checkpoints":
            label = file.parent.parent.name + ("" if file.name == MODEL_CHECKPOINT else f"-{file.stem}")
        seen[label] = seen.get(label, 0) + 1
        labelled.append((label if seen[label] == 1 else f"{label}-{seen[label]}", path))
    return labelled


OPTIONS = ("evaluate.checkpoint=PATH (or [A.pt,B.pt]), teacher.checkpoint=PATH, evaluate.episodes=N, "
           "evaluate.seed=N, --stochastic, --gif")
READ = "evaluate.checkpoint, teacher.checkpoint, evaluate.episodes and evaluate.seed"


def evaluate_settings(args: argparse.Namespace) -> dict:
    """``{checkpoints, teacher, episodes, seed}``: the policies to score (``evaluate.checkpoint``: a path or a list of
    paths, as a list), the teacher to compare them with (``teacher.checkpoint``, or None) and the held-out episodes
    (default.yaml's ``evaluate`` section: the keys every RL run's final evaluation reads, with the same meaning) with
    the overrides. Refused in one line: ``--seed`` (a run's config seed elsewhere; here the episodes' seed is
    ``evaluate.seed``), ``--episodes`` (now ``evaluate.episodes``), ``--config``, ``--resume`` and any other override
    (each policy is played under the environment settings saved in its checkpoint), a mistyped ``evaluate`` key (with
    the key meant), ``eval.*`` (with its new name), a value that is not a whole number (episodes: at least 1) and an
    ``evaluate.checkpoint`` that is not a path or a list of paths."""
    if args.seed is not None:
        raise ConfigError(f"--seed is a run's config seed in the other scripts; evaluate trains nothing and seeds its "
                          f"episodes with the config key evaluate.seed (episode i: evaluate.seed + i, as in a run's "
                          f"final evaluation): pass evaluate.seed={args.seed}")
    if args.episodes is not None:
        raise ConfigError(f"--episodes was renamed to the config key evaluate.episodes, as in a run's final "
                          f"evaluation: pass evaluate.episodes={args.episodes}")
    keys = [item.split("=", 1)[0].lstrip("+") for item in args.overrides]
    unread = ([f"--config {args.config}"] if args.config else []) + \
        ([f"--resume {args.resume}"] if args.resume else []) + \
        [item for item, key in zip(args.overrides, keys)
         if key.split(".")[0] not in ("evaluate", "eval") and key != "teacher.checkpoint"]
    if unread:
        raise ConfigError(f"evaluate reads no config but {READ} (each policy is played under the environment settings "
                          f"saved in its checkpoint): drop {' '.join(unread)}; its options are {OPTIONS}")
    defaults = {"teacher": {"checkpoint": None}, "evaluate": load_yaml(DEFAULT_CONFIG)["evaluate"]}
    resolved = apply_overrides(defaults, [item.lstrip("+") for item in args.overrides], renamed=RENAMED,
                               listed_in=DEFAULT_CONFIG)
    settings = resolved["evaluate"]
    for key, least in (("episodes", 1), ("seed", 0)):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"evaluate.{key}={value!r} must be a whole number >= {least}")
    checkpoints = settings["checkpoint"]
    checkpoints = [] if checkpoints is None else checkpoints if isinstance(checkpoints, list) else [checkpoints]
    if any(isinstance(path, (dict, list, bool)) or path is None for path in checkpoints):
        raise ConfigError(f"evaluate.checkpoint={settings['checkpoint']!r} must be a path or a list of paths: "
                          "evaluate.checkpoint=A.pt, or evaluate.checkpoint=[A.pt,B.pt]")
    teacher = resolved["teacher"]["checkpoint"]
    return {"checkpoints": [str(path) for path in checkpoints], "teacher": None if teacher is None else str(teacher),
            "episodes": settings["episodes"], "seed": settings["seed"]}


def other_run_episodes(policies: list[tuple[str, str | Path]], settings: dict, passed: set[str]) -> list[str]:
    """A line for each policy whose run (``config.yaml`` beside its ``checkpoints/`` folder) made its final evaluation
    with another ``evaluate.episodes`` or ``evaluate.seed`` than ``settings``, for the keys not in ``passed``: its
    return here is not the one its run printed, and the line names the keys that give it."""
    lines = []
    for label, path in policies:
        folder = Path(path).parent
        config = folder.parent / "config.yaml"
        run = load_yaml(config).get("evaluate", {}) if folder.name == "checkpoints" and config.is_file() else {}
        differ = [f"evaluate.{key}={run[key]}" for key in ("episodes", "seed")
                  if f"evaluate.{key}" not in passed and key in run and run[key] != settings[key]]
        if differ:
            lines.append(f"note: {label}'s run made its final evaluation with {' '.join(differ)}; these are "
                         f"{settings['episodes']} episodes from seed {settings['seed']}, so its return here is not "
                         f"the one its run printed (pass {' '.join(differ)} for that one)")
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = common_parser("Evaluate policy checkpoints over seeded episodes", renamed=EVALUATE_FLAGS)
    parser.add_argument("--episodes", type=int, help=argparse.SUPPRESS)  # earlier versions' flag, refused
    parser.add_argument("--stochastic", action="store_true", help="sample actions instead of acting greedily")
    parser.add_argument("--gif", action="store_true", help="save a GIF of one episode per policy in plots/")
    parser.epilog = ("The policies: evaluate.checkpoint=PATH (or [A.pt,B.pt]), and teacher.checkpoint=PATH for the "
                     "teacher's row and each policy's %% of its return. The episodes: evaluate.episodes=N (default "
                     "20), episode i seeded evaluate.seed + i (default 100000), as in a run's final evaluation; "
                     "--seed, a run's seed elsewhere, is refused here.")
    args = parser.parse_args(argv)
    settings = evaluate_settings(args)
    if not settings["checkpoints"] and not settings["teacher"]:
        raise ConfigError("pass evaluate.checkpoint=RUN_DIR/checkpoints/model.pt (or a list: [A.pt,B.pt]), and "
                          "teacher.checkpoint=PATH to compare with a teacher")
    episodes, seed = settings["episodes"], settings["seed"]
    device = resolve_device(args.device)
    policies = ([("teacher", settings["teacher"])] if settings["teacher"] else []) + \
        policy_labels(settings["checkpoints"])
    loaded = [(label, path, *load_policy(path, device)) for label, path in policies]
    passed = {item.split("=", 1)[0].lstrip("+") for item in args.overrides}
    for line in other_run_episodes(policies, settings, passed):
        print(line)
    exit_if_dry_run(args.dry_run, {"policies": {label: str(path) for label, path in policies},
                                   "evaluate": {"episodes": episodes, "seed": seed}, "stochastic": args.stochastic,
                                   "gif": args.gif})
    run = RunFolder.create(run_name("rl", loaded[0][3]["env"]["name"], "evaluate"), args.runs_dir, tensorboard=False)
    print(f"run folder: {run.path}")
    results, teacher_mean, random_return = {}, None, None
    for label, path, policy, meta in loaded:
        stats = evaluate_policy(policy, meta["env"], episodes, seed, not args.stochastic, device)
        if label == "teacher":
            teacher_mean = stats["return_mean"]
            random_return = percent_baseline(teacher_mean, meta["env"], episodes, seed)
        row = {**stats, "checkpoint": str(path), "policy_parameters": policy.policy_parameter_count()}
        if teacher_mean is not None:
            row["percent_of_teacher"] = percent_of_teacher(stats["return_mean"], teacher_mean, random_return)
        if args.gif:
            gif, episode_return = record_gif(policy, meta["env"], run.plots / f"{label}.gif", seed, device=device)
            row["gif"], row["gif_return"] = str(gif), episode_return
        results[f"{label}:{path}"] = row
    run.log_final({"seed": seed, "episodes": episodes, "percent_random_return": random_return,
                   "results": results})
    lines = [f"| policy | params | return | {percent_heading(random_return)} |", "|---|---|---|---|"]
    for key, row in results.items():
        pct = f"{row['percent_of_teacher']:.1f}" if "percent_of_teacher" in row else "-"
        lines.append(f"| {key} | {row['policy_parameters']:,} | {format_return(row)} | {pct} |")
    table = "\n".join(lines) + "\n"
    run.write_summary(table)
    print(table)
    return results


if __name__ == "__main__":
    main_entry(main)
