"""Train a teacher policy (PPO, or DQN for discrete actions) and save it with its normalisation statistics and
env settings.

    python -m kd.rl.scripts.train_teacher --config reinforcement-learning/configs/cartpole.yaml --seed 1
    python -m kd.rl.scripts.train_teacher env.name=Acrobot-v1    # any gymnasium id: configs/default.yaml's PPO

``teacher.init=PATH`` continues training a saved teacher (weights and observation statistics);
``--resume RUN_DIR`` continues an interrupted run from its last iteration (:mod:`kd.rl.resume`), e.g.
with ``teacher.ppo.max_minutes=...`` raised. Writes ``checkpoints/model.pt`` (the teacher distill reads: the policy of
the best periodic evaluation, ``best.pt``, its final score measured again on held-out seeds ``evaluate.seed + i``),
``checkpoints/last_update.pt`` (the policy after the last update), ``checkpoints/last.pt`` (the loop state
``--resume`` continues from), ``plots/returns.png`` and ``summary.md``. The final
figures add the mean return of the last 100 episodes the training policy finished (``training_return_mean``), the
figure CleanRL and RL Baselines3 Zoo report.
"""
from __future__ import annotations

from contextlib import closing

from kd.common.metrics.cost import count_parameters
from kd.common.metrics.rl import format_return, last_training_episodes
from kd.common.utils.checkpoint import MODEL_CHECKPOINT, load_state_dict_checked
from kd.common.utils.cli import common_parser, main_entry
from kd.common.utils.config import dataclass_from_dict, refuse_teacher_checkpoint
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import figures_markdown
from kd.common.utils.registry import Registry
from kd.rl.algorithms.dqn import DQNConfig, train_dqn
from kd.rl.algorithms.ppo import PPOConfig, train_ppo
from kd.rl.environments import make_vector_env
from kd.rl.evaluation import evaluate_policy
from kd.rl.figures import run_figures
from kd.rl.run_setup import BEST_CHECKPOINT, LAST_UPDATE_CHECKPOINT, setup_run
from kd.rl.teacher_model.build import build_policy
from kd.rl.teacher_model.checkpoint import load_policy, load_policy_for, save_policy

TRAINING_EPISODES = 100  # the last training episodes averaged for CleanRL's figure

TEACHER_ALGORITHMS: Registry = Registry("teacher algorithm")
TEACHER_NETWORKS = {"ppo": "actor_critic", "dqn": "q_network"}  # the POLICY_ARCHS network each algorithm trains


@TEACHER_ALGORITHMS.register("ppo")
def _ppo(agent, setup, evaluate, callback):
    cfg = dataclass_from_dict(PPOConfig, setup.config["teacher"]["ppo"], "PPO")
    with closing(make_vector_env(setup.env["name"], cfg.num_envs, **setup.env["kwargs"])) as envs:
        return train_ppo(agent, envs, cfg, setup.seed, setup.device, evaluate=evaluate, callback=callback,
                         checkpoint=setup.checkpoint)


@TEACHER_ALGORITHMS.register("dqn")
def _dqn(agent, setup, evaluate, callback):
    cfg = dataclass_from_dict(DQNConfig, setup.config["teacher"]["dqn"], "DQN")
    return train_dqn(agent, setup.env, cfg, setup.seed, setup.device, evaluate=evaluate, callback=callback,
                     checkpoint=setup.checkpoint)


def prepare(config: dict, device, state: dict | None) -> tuple:
    """``(algorithm, agent, start)``, made before the run folder exists: the algorithm, the network the config
    describes (the one the algorithm trains: :data:`TEACHER_NETWORKS`) and the ``teacher.init`` policy to start from
    (checked against the environment; None without one, or when ``--resume`` continues from a saved ``state``)."""
    section, env = config["teacher"], config["env"]
    refuse_teacher_checkpoint(section["checkpoint"], read_by=("distill", "evaluate"),
                              trains_from="from teacher.arch, or further from a saved policy with teacher.init=PATH")
    algorithm = TEACHER_ALGORITHMS.get(section["algo"])
    network = TEACHER_NETWORKS[section["algo"]]
    if section["network"] != network:
        raise ConfigError(f"teacher.algo={section['algo']} trains teacher.network={network}, not "
                          f"{section['network']}: pass teacher.network={network} (and a teacher.arch it takes)")
    agent = build_policy(section, env).to(device)
    init = section.get("init") if state is None else None
    start = load_policy_for(init, env, device, "teacher.init")[0] if init else None
    return algorithm, agent, start


def main(argv: list[str] | None = None) -> dict:
    setup = setup_run(common_parser("Train a teacher policy (PPO or DQN) on a gymnasium environment").parse_args(argv),
                      "train_teacher", prepare)
    config, run, env = setup.config, setup.run, setup.env
    algorithm, agent, start = setup.prepared
    if start is not None:  # continue a saved teacher's training
        load_state_dict_checked(agent, start.state_dict(), source=config["teacher"]["init"])
    train_eval = config["teacher"][config["teacher"]["algo"]].get("eval_episodes", 10)
    best = {"return": max((r["eval_return"] for r in run.history if "eval_return" in r), default=float("-inf"))}

    def evaluate(policy):  # periodic evaluation on seeds disjoint from the final evaluation's
        return evaluate_policy(policy, env, train_eval, seed=setup.periodic_seed, device=setup.device)

    def callback(record):
        run.log_epoch(record)
        if "eval_return" in record and record["eval_return"] >= best["return"]:
            best["return"] = record["eval_return"]
            save_policy(agent, run.checkpoints / BEST_CHECKPOINT, env, algo=config["teacher"]["algo"],
                        steps=record["steps"])

    algorithm(agent, setup, evaluate, callback)
    save_policy(agent, run.checkpoints / LAST_UPDATE_CHECKPOINT, env, algo=config["teacher"]["algo"])
    teacher, meta = load_policy(run.checkpoints / BEST_CHECKPOINT, setup.device)
    episodes, seed = config["evaluate"]["episodes"], config["evaluate"]["seed"]
    stats = evaluate_policy(teacher, env, episodes, seed, device=setup.device)
    last_stats = evaluate_policy(agent, env, episodes, seed, device=setup.device)
    params = teacher.policy_parameter_count()
    save_policy(teacher, run.checkpoints / MODEL_CHECKPOINT, env, algo=meta["algo"], steps=meta["steps"],
                eval_return_mean=stats["return_mean"], eval_return_std=stats["return_std"],
                eval_episodes=stats["episodes"], eval_seed=seed)
    final = {"teacher_return_mean": stats["return_mean"], "teacher_return_std": stats["return_std"],
             "teacher_returns": stats["returns"], "last_return_mean": last_stats["return_mean"],
             "last_return_std": last_stats["return_std"], "selected_at_steps": meta["steps"],
             "policy_parameters": params, "all_parameters": count_parameters(teacher),
             "trained_steps": run.history[-1]["steps"],
             "stopped_by_time_budget": bool(run.history[-1].get("stopped_by_time_budget"))}
    training = last_training_episodes(run.history, TRAINING_EPISODES)
    if training is not None:  # CleanRL's figure, to set beside their tables
        final.update(training_return_mean=training["return_mean"], training_return_std=training["return_std"],
                     training_episodes=training["episodes"])
    run.log_final(final)
    figures = run_figures(run, f"{config['teacher']['algo'].upper()} teacher on {env['name']} (seed {setup.seed})")
    table = ("| policy | return (held-out seeds) | policy params |\n|---|---|---|\n"
             f"| teacher (best eval, step {meta['steps']}) | {format_return(stats)} | {params:,} |\n"
             f"| teacher (last update) | {format_return(last_stats)} | {params:,} |\n")
    if training is not None:
        table += (f"| training policy, last {training['episodes']} training episodes (CleanRL's figure) | "
                  f"{format_return(training)} | {params:,} |\n")
    run.write_summary(f"{table}\n{figures_markdown(figures, run.path)}")
    run.close()
    print(table)
    print(f"teacher checkpoint: {run.checkpoints / MODEL_CHECKPOINT}")
    return final


if __name__ == "__main__":
    main_entry(main)
