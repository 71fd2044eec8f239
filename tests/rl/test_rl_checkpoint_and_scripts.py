"""Save/load keeps the score (normalisation statistics included); the scripts run end to end."""
import json
import re
from pathlib import Path

import pytest
import torch
import yaml

from kd.common.utils.cli import main_entry
from kd.common.utils.errors import CheckpointMismatchError, MissingPathError
from kd.rl.evaluation import run_episodes
from kd.rl.scripts import distill, evaluate, report, train_teacher
from kd.rl.teacher_model import ActorCritic, load_policy, save_policy

CARTPOLE = {"name": "cartpole", "kwargs": {}}

CONFIG = Path(__file__).parents[2] / "reinforcement-learning" / "configs" / "cartpole.yaml"


def test_round_trip_keeps_weights_normaliser_and_returns(tmp_path, linear_cartpole_teacher):
    policy = ActorCritic([4], "discrete", 2, hidden=[8], normalize_obs=True)
    policy.normalizer.update(torch.randn(256, 4) * torch.tensor([1.0, 2.0, 0.1, 0.5]) + 0.3)
    before = run_episodes(policy, CARTPOLE, 5, seed=11, deterministic=False)
    path = save_policy(policy, tmp_path / "p.pt", CARTPOLE, algo="test")
    loaded, meta = load_policy(path)
    assert meta["env"] == CARTPOLE and meta["algo"] == "test"
    assert torch.equal(loaded.normalizer.mean, policy.normalizer.mean) and loaded.normalizer.enabled
    assert run_episodes(loaded, CARTPOLE, 5, seed=11, deterministic=False) == before
    assert run_episodes(loaded, CARTPOLE, 5, seed=11, deterministic=False) == before  # same seeds, same returns
    path = save_policy(linear_cartpole_teacher, tmp_path / "t.pt", CARTPOLE)
    assert run_episodes(load_policy(path)[0], CARTPOLE, 3, seed=0) == [500.0, 500.0, 500.0]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))])
def test_an_evaluation_leaves_the_training_random_stream_as_it_was(device):
    """Sampled evaluation seeds torch's generators itself; training (PPO's sampling) must go on unchanged after it."""
    policy = ActorCritic([4], "discrete", 2, hidden=[8]).to(device)
    state = torch.get_rng_state(), (torch.cuda.get_rng_state() if device == "cuda" else None)
    run_episodes(policy, CARTPOLE, 2, seed=11, deterministic=False, device=device)
    assert torch.equal(torch.get_rng_state(), state[0])
    if device == "cuda":
        assert torch.equal(torch.cuda.get_rng_state(), state[1])


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(MissingPathError):
        load_policy(tmp_path / "missing.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointMismatchError, match="is not a model checkpoint"):
        load_policy(tmp_path / "other.pt")
    torch.save({"agent": {}, "iteration": 3, "steps": 384, "history": [], "rng": {}}, tmp_path / "last.pt")
    with pytest.raises(CheckpointMismatchError, match="resumable training state .* pass the checkpoints/model.pt"):
        load_policy(tmp_path / "last.pt")


def test_scripts_train_distill_evaluate(tmp_path, capsys):
    runs = str(tmp_path)
    teacher_final = train_teacher.main(["--config", str(CONFIG), "--runs-dir", runs, "--seed", "3",
                                        "teacher.ppo.total_steps=2048", "teacher.ppo.eval_every=2",
                                        "evaluate.episodes=3"])
    teacher_pt = next(tmp_path.glob("rl-cartpole-train_teacher-s3-*/checkpoints/model.pt"))
    assert teacher_final["policy_parameters"] == 4610
    assert 0 < teacher_final["training_episodes"] <= 100 and teacher_final["training_return_mean"] > 0
    final = distill.main(["--config", str(CONFIG), "--runs-dir", runs, f"teacher.checkpoint={teacher_pt}",
                          "distill.total_steps=512", "distill.data=mix", "evaluate.episodes=3"])
    assert final["compression"] > 10 and "percent_of_teacher" in final
    assert len(teacher_final["teacher_returns"]) == len(final["student_returns"]) == 3  # evaluate.episodes
    run = next(tmp_path.glob("rl-cartpole-distill-s1-*"))
    assert (run / "plots" / "returns.png").is_file() and (run / "summary.md").is_file()
    assert "![returns](plots/returns.png)" in (run / "summary.md").read_text()
    assert json.loads((run / "metrics.json").read_text())["history"]
    table = report.main(["--runs", runs, "--runs-dir", runs])
    assert "| cartpole | ppo teacher | 4,610 |" in table and "policy_distillation (kl, data=mix), MLP 16" in table
    out = next(tmp_path.glob("rl-report-*"))  # no --out: a new run folder under --runs-dir
    for plot in ("cartpole-distillation", "cartpole-returns", "cartpole-return_vs_params"):
        assert (out / "plots" / f"{plot}.png").is_file()
        assert f"![{plot}](plots/{plot}.png)" in (out / "summary.md").read_text()
    student_pt = run / "checkpoints" / "model.pt"
    results = evaluate.main([f"evaluate.checkpoint={student_pt}", f"teacher.checkpoint={teacher_pt}",
                             "evaluate.episodes=3", "--runs-dir", runs, "--gif"])
    row = results[f"{run.name}:{student_pt}"]  # labelled by its run folder
    assert [re.fullmatch(r"rl-cartpole-evaluate-\d{8}-\d{6}", p.name) is not None
            for p in tmp_path.glob("*evaluate*")] == [True]  # the rule of every domain; evaluate trains no seed
    assert row["return_mean"] == final["student_return_mean"]  # reloaded from disk, same seeds: same score
    assert len(row["returns"]) == 3  # evaluate.episodes, read as distill's final evaluation reads it
    assert Path(row["gif"]).stat().st_size > 0
    out = capsys.readouterr().out
    assert "% of teacher" in out and "note:" not in out  # the runs' own episodes: nothing to say
    with pytest.raises(SystemExit):  # the default 20 episodes, not the 3 the runs were scored on: a line says so
        evaluate.main([f"evaluate.checkpoint={student_pt}", f"teacher.checkpoint={teacher_pt}", "--runs-dir", runs,
                       "--dry-run"])
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {label}'s run made its final evaluation with evaluate.episodes=3; these are 20 episodes "
                     f"from seed 100000, so its return here is not the one its run printed (pass evaluate.episodes=3 "
                     f"for that one)" for label in ("teacher", run.name)]


def test_evaluate_labels_each_policy_by_its_run_folder():
    paths = ["runs/rl-a-distill-s1/checkpoints/model.pt", "runs/rl-a-train_teacher-s1/checkpoints/best.pt",
             "elsewhere/p.pt", "other/rl-a-distill-s1/checkpoints/model.pt"]
    assert [label for label, _ in evaluate.policy_labels(paths)] == ["rl-a-distill-s1", "rl-a-train_teacher-s1-best",
                                                                     "p",
                                                                     "rl-a-distill-s1-2"]


def test_dqn_teacher_script_saves_a_q_network(tmp_path):
    config = CONFIG.with_name("cartpole_dqn.yaml")
    train_teacher.main(["--config", str(config), "--runs-dir", str(tmp_path), "teacher.dqn.total_steps=600",
                        "teacher.dqn.learning_starts=100", "teacher.dqn.eval_every=300", "evaluate.episodes=2"])
    policy, meta = load_policy(next(tmp_path.glob("rl-cartpole-train_teacher-s*/checkpoints/model.pt")))
    assert meta["algo"] == "dqn" and policy.arch_name == "q_network"


def test_user_mistakes_exit_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_entry(distill.main, ["--config", str(CONFIG), "--runs-dir", str(tmp_path),
                                  f"teacher.checkpoint={tmp_path / 'nope.pt'}"])
    assert exit_info.value.code != 0
    assert capsys.readouterr().err.strip().startswith("error: checkpoint")
    with pytest.raises(SystemExit):
        main_entry(train_teacher.main, ["--config", str(CONFIG), "--runs-dir", str(tmp_path), "env.nmae=cartpole"])
    assert "unknown config key 'env.nmae'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main_entry(train_teacher.main, ["--config", str(CONFIG), "--runs-dir", str(tmp_path), "env.name=pongg"])
    assert "unknown environment 'pongg'" in capsys.readouterr().err


@pytest.mark.parametrize("override,expected", [
    ("teacher.algo=dqn", "error: teacher.algo=dqn trains teacher.network=q_network, not actor_critic: pass "
                         "teacher.network=q_network (and a teacher.arch it takes)"),
    ("teacher.network=q_network", "error: teacher.algo=ppo trains teacher.network=actor_critic, not q_network: pass "
                                  "teacher.network=actor_critic (and a teacher.arch it takes)"),
    ("teacher.arch.hiden=[8]", "error: teacher.arch: policy architecture 'actor_critic' takes no argument 'hiden'; "
                               "did you mean 'hidden'?"),
])
def test_train_teacher_refuses_a_network_its_algo_does_not_train_or_a_misspelt_arch(tmp_path, capsys, override,
                                                                                   expected):
    with pytest.raises(SystemExit) as exit_info:
        main_entry(train_teacher.main, ["--config", str(CONFIG), "--runs-dir", str(tmp_path), "--dry-run", override])
    assert exit_info.value.code != 0 and capsys.readouterr().err.strip() == expected
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("script", [train_teacher, distill])
def test_a_seed_whose_periodic_episodes_are_the_held_out_ones_is_refused(script, tmp_path, capsys):
    """seed=100 would seed its periodic evaluations 100000 + i, the final evaluation's evaluate.seed + i: best.pt
    would be chosen on the episodes that then score it."""
    def exit_code(*overrides):
        with pytest.raises(SystemExit) as exit_info:
            main_entry(script.main, ["--config", str(CONFIG), "--runs-dir", str(tmp_path), "--dry-run", *overrides])
        return exit_info.value.code

    teacher = [f"teacher.checkpoint={tmp_path / 't.pt'}"] if script is distill else []
    assert exit_code("seed=100", *teacher) == 2
    assert capsys.readouterr().err.strip().startswith("error: seed=100 seeds its periodic evaluations 100000 + i, "
                                                      "which meet the final evaluation's episodes")
    if script is train_teacher:  # (distill would go on to its missing teacher)
        assert exit_code("seed=100", "evaluate.seed=5000") == 0
    assert not any(tmp_path.iterdir())


def test_a_q_network_refuses_observation_normalisation_it_would_never_update(tmp_path, capsys):
    """DQN updates no running statistics: with normalize_obs the network would only clip its inputs at +-10."""
    with pytest.raises(SystemExit):
        main_entry(train_teacher.main, ["--config", str(CONFIG.with_name("cartpole_dqn.yaml")), "--runs-dir",
                                        str(tmp_path), "--dry-run", "teacher.arch.normalize_obs=true"])
    assert capsys.readouterr().err.strip().startswith("error: normalize_obs=true: a Q-network keeps no running")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("preset", sorted(p.stem for p in CONFIG.parent.glob("*.yaml")))
def test_every_presets_teacher_network_is_its_algorithms(preset):
    teacher = yaml.safe_load((CONFIG.parent / f"{preset}.yaml").read_text())["teacher"]
    assert train_teacher.TEACHER_NETWORKS[teacher["algo"]] == teacher["network"]


EVALUATE_OPTIONS = ("its options are evaluate.checkpoint=PATH (or [A.pt,B.pt]), teacher.checkpoint=PATH, "
                    "evaluate.episodes=N, evaluate.seed=N, --stochastic, --gif")


@pytest.mark.parametrize("argv,expected", [
    (["--config", "cartpole", "evaluate.episodes=3", "env.name=acrobot"],
     "error: evaluate reads no config but evaluate.checkpoint, teacher.checkpoint, evaluate.episodes and "
     "evaluate.seed (each policy is played under the environment settings saved in its checkpoint): drop --config "
     f"cartpole env.name=acrobot; {EVALUATE_OPTIONS}"),
    (["teacher.arch={hidden: [8]}"],
     "error: evaluate reads no config but evaluate.checkpoint, teacher.checkpoint, evaluate.episodes and "
     "evaluate.seed (each policy is played under the environment settings saved in its checkpoint): drop "
     f"teacher.arch={{hidden: [8]}}; {EVALUATE_OPTIONS}"),
    (["--checkpoint", "a.pt", "--checkpoint", "b.pt"],
     "error: --checkpoint was renamed to the config key evaluate.checkpoint, as in every domain: pass "
     "evaluate.checkpoint=[a.pt,b.pt]"),
    (["--teacher", "t.pt"], "error: --teacher was renamed to the config key teacher.checkpoint, as in every domain: "
                            "pass teacher.checkpoint=t.pt"),
    (["evaluate.checkpoint=[a.pt, [b.pt]]"], "error: evaluate.checkpoint=['a.pt', ['b.pt']] must be a path or a list "
                                             "of paths: evaluate.checkpoint=A.pt, or evaluate.checkpoint=[A.pt,B.pt]"),
    (["--seed", "7"],
     "error: --seed is a run's config seed in the other scripts; evaluate trains nothing and seeds its episodes with "
     "the config key evaluate.seed (episode i: evaluate.seed + i, as in a run's final evaluation): pass "
     "evaluate.seed=7"),
    (["--episodes", "3"], "error: --episodes was renamed to the config key evaluate.episodes, as in a run's final "
                          "evaluation: pass evaluate.episodes=3"),
    (["evaluate.episode=3"], "error: unknown config key 'evaluate.episode'; did you mean 'evaluate.episodes'?"),
    (["+evaluate.other=1"], "error: unknown config key 'evaluate.other'; known: evaluate.checkpoint, "
                            "evaluate.episodes, evaluate.seed"),
    (["eval.seed=7"], "error: config key 'eval.seed' was renamed to evaluate.seed"),
    (["evaluate.episodes=0"], "error: evaluate.episodes=0 must be a whole number >= 1"),
    (["evaluate.seed=1.5"], "error: evaluate.seed=1.5 must be a whole number >= 0"),
])
def test_evaluate_refuses_what_it_would_not_read(tmp_path, capsys, linear_cartpole_teacher, argv, expected):
    """evaluate reads the episodes' keys of a run's final evaluation, evaluate.episodes and evaluate.seed, and nothing
    else: a config, another key, --seed (a run's seed in every other script) and --episodes are refused in one line."""
    policy = save_policy(linear_cartpole_teacher, tmp_path / "model.pt", CARTPOLE)
    with pytest.raises(SystemExit) as exit_info:
        main_entry(evaluate.main, [f"evaluate.checkpoint={policy}", "--runs-dir", str(tmp_path / "runs"), *argv])
    assert exit_info.value.code != 0 and capsys.readouterr().err.strip() == expected
    assert not (tmp_path / "runs").exists()


def test_evaluate_plays_evaluate_episodes_seeded_from_evaluate_seed(tmp_path, capsys, linear_cartpole_teacher):
    policy = save_policy(linear_cartpole_teacher, tmp_path / "model.pt", CARTPOLE)
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main([f"evaluate.checkpoint={policy}", "--runs-dir", str(tmp_path / "runs"), "--dry-run"])
    assert exit_info.value.code == 0 and "evaluate:\n  episodes: 20\n  seed: 100000\n" in capsys.readouterr().out
    results = evaluate.main([f"evaluate.checkpoint={policy}", "--runs-dir", str(tmp_path / "runs"),
                             "evaluate.episodes=2", "evaluate.seed=7", "--stochastic"])
    row = results[f"model:{policy}"]
    assert row["returns"] == run_episodes(linear_cartpole_teacher, CARTPOLE, 2, seed=7, deterministic=False)
    final = json.loads(next((tmp_path / "runs").glob("*/metrics.json")).read_text())["final"]
    assert (final["episodes"], final["seed"]) == (2, 7)


def test_report_refuses_the_common_flags_it_does_not_read(tmp_path, capsys):
    """report reads the run folders under --runs, not a config: what it would ignore is refused in one line."""
    with pytest.raises(SystemExit) as exit_info:
        main_entry(report.main, ["--runs", str(tmp_path), "--config", "no_such_preset", "student.lrr=1",
                                 "--seed", "3", "--resume", "/nowhere", "--dry-run"])
    assert exit_info.value.code != 0 and capsys.readouterr().err.strip() == (
        "error: --config, --seed, --resume and key=value overrides are not read by this script: drop --config "
        "no_such_preset --seed 3 --resume /nowhere student.lrr=1; its options are --runs-dir, --dry-run, --runs, "
        "--out")
    assert not any(tmp_path.iterdir())


def fake_run(root: Path, name: str, config: dict, final: dict, history: list[dict]) -> Path:
    """A finished run folder as the RL scripts leave it (config.yaml, metrics.json), without training."""
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "metrics.json").write_text(json.dumps({"history": history, "final": final}))
    return run


def test_report_plots_the_spread_over_seeds(tmp_path, assert_png):
    """Three student seeds and two teacher seeds of hand-made runs: the table gives mean +- std, and the figures
    (learning curves with a band, final returns with whiskers, return against parameters) are embedded."""
    env = {"name": "cartpole", "kwargs": {}}
    for seed in (1, 2):
        fake_run(tmp_path, f"rl-cartpole-train_teacher-s{seed}", {"env": env, "seed": seed, "teacher": {"algo": "ppo"}},
                 {"policy_parameters": 4610, "teacher_return_mean": 490.0 + seed}, [])
    teacher_pt = tmp_path / "rl-cartpole-train_teacher-s1" / "checkpoints" / "model.pt"
    for seed in (1, 2, 3):
        history = [{"steps": s, "eval_return": min(500.0, s / 10 + 20 * seed)} for s in range(0, 6001, 1000)]
        fake_run(tmp_path, f"rl-cartpole-distill-s{seed}",
                 {"env": env, "seed": seed, "teacher": {"algo": "ppo"}, "student": {"arch": {"hidden": [16]}}},
                 {"student_return_mean": 450.0 + 10 * seed, "teacher_return_mean": 491.0, "percent_of_teacher": 95.0,
                  "student_parameters": 114, "compression": 40.4, "method": "policy_distillation", "loss": "kl",
                  "data": "teacher", "teacher_checkpoint": str(teacher_pt)}, history)
    out = tmp_path / "report"
    table = report.main(["--runs", str(tmp_path), "--out", str(out)])
    # the sample std (n - 1), as vision's and NLP's tables: teachers 491, 492: sqrt((0.5^2 + 0.5^2) / 1) = 0.71;
    # students 460, 470, 480: sqrt((10^2 + 0^2 + 10^2) / 2) = 10.0 (the population std would print 0.5 and 8.2)
    assert "| cartpole | ppo teacher | 4,610 | 491.5 +- 0.7 |" in table
    assert "| 470.0 +- 10.0 | 95.0 +- 0.0 |" in table
    summary = (out / "summary.md").read_text()
    for plot in ("cartpole-distillation", "cartpole-returns", "cartpole-return_vs_params"):
        assert_png(out / "plots" / f"{plot}.png")
        assert f"![{plot}](plots/{plot}.png)" in summary


def test_report_keeps_teachers_of_other_step_counts_apart_and_students_of_several_teacher_seeds_together(tmp_path):
    """Teachers of 100k and 500k steps are two rows named by the step count, not two seeds of one; students of two
    teacher seeds (their teacher.checkpoint differs) are seeds of one row, as the RL README's tables take them."""
    env = {"name": "cartpole", "kwargs": {}}
    for seed, steps, ret in ((1, 100_000, 200.0), (2, 500_000, 500.0)):
        fake_run(tmp_path, f"rl-cartpole-train_teacher-s{seed}",
                 {"env": env, "seed": seed, "teacher": {"algo": "ppo", "ppo": {"total_steps": steps}}},
                 {"policy_parameters": 4610, "teacher_return_mean": ret}, [])
    for seed in (1, 2):
        teacher_pt = tmp_path / f"rl-cartpole-train_teacher-s{seed}" / "checkpoints" / "model.pt"
        fake_run(tmp_path, f"rl-cartpole-distill-s{seed}",
                 {"env": env, "seed": seed, "student": {"arch": {"hidden": [16]}},
                  "teacher": {"algo": "ppo", "checkpoint": str(teacher_pt)}},
                 {"student_return_mean": 400.0 + seed, "teacher_return_mean": 500.0, "percent_of_teacher": 80.0,
                  "student_parameters": 114, "compression": 40.4, "method": "policy_distillation", "loss": "kl",
                  "data": "teacher", "teacher_checkpoint": str(teacher_pt)}, [])
    table = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "report")])
    # one seed each: its return alone, as in vision's and NLP's tables (no "+- 0.0")
    assert "| cartpole | ppo (teacher.ppo.total_steps=100000) teacher | 4,610 | 200.0 |" in table
    assert "| cartpole | ppo (teacher.ppo.total_steps=500000) teacher | 4,610 | 500.0 |" in table
    assert "| 401.5 +- 0.7 | 80.0 +- 0.0 |  | - | [1, 2] |" in table.replace("never (0/2)", "")


def test_report_counts_a_seed_found_twice_once(tmp_path, capsys):
    """A teacher run repeated (seed 1 in two folders) is one seed; a student run repeated (seed 1 from teacher A twice)
    is one seed, but seed 1 from teacher B is another seed of the same row. The first folder found is counted and a
    line names the one left out, as vision's report does."""
    env = {"name": "cartpole", "kwargs": {}}
    for name, ret in (("rl-cartpole-train_teacher-s1", 490.0), ("rl-cartpole-train_teacher-s1-again", 10.0)):
        fake_run(tmp_path, name, {"env": env, "seed": 1, "teacher": {"algo": "ppo"}},
                 {"policy_parameters": 4610, "teacher_return_mean": ret}, [])
    for name, teacher, ret in (("a", "A", 400.0), ("a-again", "A", 10.0), ("b", "B", 410.0)):
        teacher_pt = tmp_path / teacher / "checkpoints" / "model.pt"
        fake_run(tmp_path, f"rl-cartpole-distill-s1-{name}",
                 {"env": env, "seed": 1, "student": {"arch": {"hidden": [16]}},
                  "teacher": {"algo": "ppo", "checkpoint": str(teacher_pt)}},
                 {"student_return_mean": ret, "teacher_return_mean": 500.0, "percent_of_teacher": ret / 5,
                  "student_parameters": 114, "compression": 40.4, "method": "policy_distillation", "loss": "kl",
                  "data": "teacher", "teacher_checkpoint": str(teacher_pt)}, [])
    table = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "report")])
    assert "| cartpole | ppo teacher | 4,610 | 490.0" in table and table.count("| [1] |") == 1
    assert "| 405.0 +- 7.1 | 81.0 +- 1.4 |" in table and "| [1, 1] |" in table
    out = capsys.readouterr().out
    assert (f"report: 'cartpole / ppo' has seed 1 twice: {tmp_path / 'rl-cartpole-train_teacher-s1'} counted, "
            f"{tmp_path / 'rl-cartpole-train_teacher-s1-again'} left out") in out
    assert f"has seed 1 (teacher {tmp_path / 'A' / 'checkpoints' / 'model.pt'}) twice" in out
    assert f"{tmp_path / 'rl-cartpole-distill-s1-a-again'} left out" in out and "distill-s1-b left out" not in out


def test_report_does_not_average_percentages_on_two_scales(tmp_path):
    """A teacher whose return is positive is scored 100 * S / T, one whose return is not on the random-normalised
    scale (percent_baseline); students of two such teacher seeds in one row get no mean of the two."""
    env = {"name": "acrobot", "kwargs": {}}
    for seed, teacher_return, random_return, percent in ((1, 5.0, None, 80.0), (2, -80.0, -500.0, 95.2)):
        teacher_pt = tmp_path / f"rl-acrobot-train_teacher-s{seed}" / "checkpoints" / "model.pt"
        fake_run(tmp_path, f"rl-acrobot-distill-s{seed}",
                 {"env": env, "seed": seed, "student": {"arch": {"hidden": [16]}},
                  "teacher": {"algo": "ppo", "checkpoint": str(teacher_pt)}},
                 {"student_return_mean": 4.0 if seed == 1 else -100.0, "teacher_return_mean": teacher_return,
                  "percent_of_teacher": percent, "percent_random_return": random_return, "student_parameters": 114,
                  "compression": 40.4, "method": "policy_distillation", "loss": "kl", "data": "teacher",
                  "teacher_checkpoint": str(teacher_pt)}, [])
    table = report.main(["--runs", str(tmp_path), "--out", str(tmp_path / "report")])
    assert "| - (seeds on two scales: their teachers' returns differ in sign) |" in table
    assert "87.6" not in table
