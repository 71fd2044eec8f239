"""An interrupted RL run continues from its last iteration with ``--resume RUN_DIR`` (kd.rl.resume)."""
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from kd.common.utils.checkpoint import safe_load
from kd.common.utils.errors import CheckpointMismatchError, ConfigError, MissingPathError
from kd.rl.algorithms import DQNConfig, PPOConfig, train_dqn, train_ppo
from kd.rl.distillation import DistillConfig, StudentTraining, distill_policy, distillation_loss
from kd.rl.environments import make_vector_env
from kd.rl.resume import LoopCheckpoint, LoopState
from kd.rl.scripts import distill, train_teacher
from kd.rl.teacher_model import ActorCritic
from kd.rl.teacher_model.networks import QNetwork

CONFIG = Path(__file__).parents[2] / "reinforcement-learning" / "configs" / "cartpole.yaml"
CPU = torch.device("cpu")
CARTPOLE = {"name": "cartpole", "kwargs": {}}


class Interrupted(Exception):
    pass


def interrupt_at(epoch: int):
    """A callback that dies while logging iteration ``epoch`` (before that iteration's state is saved)."""
    def callback(record):
        if record["epoch"] == epoch:
            raise Interrupted
    return callback


def test_ppo_continues_from_the_last_saved_update(tmp_path):
    cfg = PPOConfig(total_steps=4 * 4 * 32, num_envs=4, num_steps=32, num_minibatches=2, update_epochs=2,
                    eval_every=100)
    torch.manual_seed(0)
    agent = ActorCritic([4], "discrete", 2, hidden=[16], normalize_obs=True)
    checkpoint = LoopCheckpoint(tmp_path / "last.pt")
    with pytest.raises(Interrupted):
        train_ppo(agent, make_vector_env("cartpole", 4), cfg, 0, CPU, callback=interrupt_at(3), checkpoint=checkpoint)
    state = safe_load(checkpoint.path)
    assert state["iteration"] == 2 and state["steps"] == 2 * 128
    fresh = ActorCritic([4], "discrete", 2, hidden=[16], normalize_obs=True)  # other weights: the state replaces them
    history = train_ppo(fresh, make_vector_env("cartpole", 4), cfg, 0, CPU,
                        checkpoint=LoopCheckpoint(checkpoint.path, state))
    assert [r["epoch"] for r in history] == [1, 2, 3, 4] and [r["steps"] for r in history] == [128, 256, 384, 512]
    assert history[:2] == state["history"]
    final = safe_load(checkpoint.path)
    steps = {int(s["step"]) for s in final["optimizer"]["state"].values()}
    assert steps == {4 * 2 * 2}  # updates x epochs x minibatches
    assert fresh.normalizer.count.item() > 4 * 128  # statistics carried over and still updated


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_resumed_loop_draws_on_from_the_saved_cuda_random_state(tmp_path):
    """On a GPU, PPO's minibatch permutations and sampled actions draw from the CUDA generators: saved and restored."""
    from kd.rl.resume import LoopState

    torch.rand(1, device="cuda")  # CUDA in use
    LoopState(LoopCheckpoint(tmp_path / "last.pt")).save(1, 10, [])
    expected = torch.rand(4, device="cuda")
    LoopState(LoopCheckpoint(tmp_path / "last.pt", safe_load(tmp_path / "last.pt"))).resume()
    assert torch.equal(torch.rand(4, device="cuda"), expected)


def test_dqn_refills_its_memory_and_carries_on(tmp_path):
    cfg = DQNConfig(total_steps=600, learning_starts=100, buffer_size=1000, eval_every=200, batch_size=32,
                    train_every=2, target_update_every=100)
    env = {"name": "cartpole", "kwargs": {}}
    torch.manual_seed(0)
    checkpoint = LoopCheckpoint(tmp_path / "last.pt")
    with pytest.raises(Interrupted):
        train_dqn(QNetwork([4], "discrete", 2, hidden=[16]), env, cfg, 0, CPU, callback=interrupt_at(2),
                  checkpoint=checkpoint)
    state = safe_load(checkpoint.path)
    assert state["steps"] == 200
    history = train_dqn(QNetwork([4], "discrete", 2, hidden=[16]), env, cfg, 0, CPU,
                        checkpoint=LoopCheckpoint(checkpoint.path, state))
    assert [r["steps"] for r in history] == [200, 400, 600]
    assert history[-1]["epsilon"] < history[0]["epsilon"] and "td_loss" in history[1] and "td_loss" in history[2]


def test_time_budget_stop_then_resume_finishes_the_teacher_and_the_student(tmp_path):
    runs = str(tmp_path)
    short = ["teacher.ppo.total_steps=2048", "teacher.ppo.eval_every=2", "evaluate.episodes=2"]
    train_teacher.main(["--config", str(CONFIG), "--runs-dir", runs, "--seed", "5", *short,
                        "teacher.ppo.max_minutes=0"])  # a zero budget stops after the first update
    run = next(tmp_path.glob("rl-cartpole-train_teacher-s5-*"))
    assert safe_load(run / "checkpoints" / "last.pt")["iteration"] == 1
    final = train_teacher.main(["--resume", str(run), "--runs-dir", runs, "teacher.ppo.max_minutes=null"])
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4] and history[-1]["steps"] == 2048
    assert not final["stopped_by_time_budget"] and final["trained_steps"] == 2048
    assert len(list(tmp_path.glob("rl-cartpole-train_teacher-*"))) == 1  # the same run folder, not a new one

    assert {p.name for p in (run / "checkpoints").iterdir()} == {"last.pt", "model.pt", "best.pt", "last_update.pt"}
    teacher_pt = run / "checkpoints" / "model.pt"
    state = run / "checkpoints" / "last.pt"
    with pytest.raises(CheckpointMismatchError, match=r"last.pt' is a run's resumable training state \(what "
                                                      r"--resume continues from\), not model weights; pass the "
                                                      r"checkpoints/model.pt"):
        distill.main(["--config", str(CONFIG), "--runs-dir", runs, f"teacher.checkpoint={state}"])
    distill.main(["--config", str(CONFIG), "--runs-dir", runs, f"teacher.checkpoint={teacher_pt}",
                  "evaluate.episodes=2", "distill.total_steps=1024", "distill.max_minutes=0"])
    student_run = next(tmp_path.glob("rl-cartpole-distill-s1-*"))
    with pytest.raises(ConfigError, match="--resume cannot change teacher.checkpoint"):
        distill.main(["--resume", str(student_run), f"teacher.checkpoint={run / 'checkpoints' / 'best.pt'}"])
    final = distill.main(["--resume", str(student_run), "--runs-dir", runs, "distill.max_minutes=null"])
    assert final["trained_steps"] == 1024 and final["teacher_checkpoint"] == str(teacher_pt)
    assert [r["epoch"] for r in json.loads((student_run / "metrics.json").read_text())["history"]] == [1, 2, 3, 4]
    assert {p.name for p in (student_run / "checkpoints").iterdir()} == {"last.pt", "model.pt"}

    # a run of an earlier version: the loop state in resume.pt, the last update's policy in last.pt
    old = tmp_path / "old-layout"
    shutil.copytree(run, old)
    (old / "checkpoints" / "last.pt").rename(old / "checkpoints" / "resume.pt")
    shutil.copy(old / "checkpoints" / "last_update.pt", old / "checkpoints" / "last.pt")
    with pytest.raises(CheckpointMismatchError, match="earlier version, which kept the loop state in checkpoints/"
                                                      "resume.pt; rename it to last.pt"):
        train_teacher.main(["--resume", str(old)])
    (old / "checkpoints" / "resume.pt").unlink()  # last.pt alone, a policy: not what --resume continues from
    with pytest.raises(CheckpointMismatchError, match=r"last.pt' holds model weights, not the training state --resume"):
        train_teacher.main(["--resume", str(old)])


LOOPS = {
    "ppo": lambda cp, budget: train_ppo(
        ActorCritic([4], "discrete", 2, hidden=[8]), make_vector_env("cartpole", 2),
        PPOConfig(total_steps=4 * 2 * 16, num_envs=2, num_steps=16, num_minibatches=2, update_epochs=1,
                  max_minutes=budget), 0, CPU, checkpoint=cp),
    "dqn": lambda cp, budget: train_dqn(
        QNetwork([4], "discrete", 2, hidden=[8]), {"name": "cartpole", "kwargs": {}},
        DQNConfig(total_steps=400, learning_starts=50, buffer_size=400, eval_every=100, batch_size=16,
                  max_minutes=budget), 0, CPU, checkpoint=cp),
    "distillation": lambda cp, budget: distill_policy(
        ActorCritic([4], "discrete", 2, hidden=[8]), ActorCritic([4], "discrete", 2, hidden=[8]), CARTPOLE,
        DistillConfig(total_steps=4 * 2 * 16, num_envs=2, steps_per_iteration=16, max_minutes=budget),
        StudentTraining(batch_size=8, updates_per_iteration=1), distillation_loss("kl"), 0, CPU, checkpoint=cp),
}


@pytest.mark.parametrize("loop", list(LOOPS))
def test_a_run_resumed_with_its_budget_spent_trains_nothing_more(loop, tmp_path, capsys):
    """A zero budget stops after the first iteration; resumed with it, the loop used to train one more."""
    torch.manual_seed(0)
    LOOPS[loop](LoopCheckpoint(tmp_path / "last.pt"), 0)
    stopped = safe_load(tmp_path / "last.pt")
    assert stopped["iteration"] == 1 and stopped["history"][-1]["stopped_by_time_budget"]
    history = LOOPS[loop](LoopCheckpoint(tmp_path / "last.pt", stopped), 0)
    assert history == stopped["history"] and safe_load(tmp_path / "last.pt")["iteration"] == 1
    assert "this run had spent its time budget (max_minutes=0; " in capsys.readouterr().out
    history = LOOPS[loop](LoopCheckpoint(tmp_path / "last.pt", stopped), None)  # raised: it carries on to the end
    assert len(history) == 4 and "stopped_by_time_budget" not in history[-1]


def test_resume_mistakes_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="pass teacher.checkpoint=PATH"):
        distill.main(["--config", str(CONFIG), "--runs-dir", str(tmp_path)])
    with pytest.raises(ConfigError, match="--teacher was renamed to the config key teacher.checkpoint"):
        distill.main(["--config", str(CONFIG), "--runs-dir", str(tmp_path), "--teacher", "t.pt"])
    with pytest.raises(ConfigError, match=r"config key 'distill.tau' was renamed to methods.<name>.temperature "
                                          r"\(e.g. methods.policy_distillation"):
        distill.main(["--config", str(CONFIG), "--runs-dir", str(tmp_path), "distill.tau=0.01"])
    assert not any(tmp_path.iterdir())
    with pytest.raises(MissingPathError, match="no config.yaml"):
        train_teacher.main(["--resume", str(tmp_path)])


def test_a_loop_state_whose_network_does_not_fit_is_one_line_naming_the_file(tmp_path):
    """last.pt of another version of the code (a layer renamed): a CheckpointMismatchError naming the file, the part
    and the keys."""
    path = tmp_path / "last.pt"
    saved = LoopState(LoopCheckpoint(path), agent=torch.nn.Linear(2, 2))
    saved.save(1, 8, [{"epoch": 1}])
    state = safe_load(path)
    state["agent"] = {"old." + key: value for key, value in state["agent"].items()}
    with pytest.raises(CheckpointMismatchError, match=rf"^{re.escape(str(path))} \(agent\) does not match the model "
                                                      r"\(missing \['bias', 'weight'\]; unexpected \['old.bias', "
                                                      r"'old.weight'\]\)"):
        LoopState(LoopCheckpoint(path, state), agent=torch.nn.Linear(2, 2)).resume()
