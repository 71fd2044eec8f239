"""Policy distillation from hand-made teachers reaches a set fraction of their return.

The student never sees a reward, so everything it learns comes through the distillation loss: with
that loss's gradient cut (``tests/rl`` under the ``kd_detach_plugin``) each of these students stays
where it started, far below the thresholds.
"""
import pytest
import torch

from kd.rl.distillation import DistillConfig, StudentTraining, distill_policy, distillation_loss
from kd.rl.evaluation import evaluate_policy
from kd.rl.student_model import build_student, size_report

CARTPOLE = {"name": "cartpole", "kwargs": {}}
TRAINING = StudentTraining(lr=1e-2, batch_size=128, updates_per_iteration=16)
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.mark.parametrize("data", ["teacher", "student", "mix"])
def test_student_reaches_90_percent_of_the_teacher(linear_cartpole_teacher, data):
    """policy_kl on states from the teacher's, the student's or the mixed rollouts: ~uniform -> >= 450 of 500."""
    torch.manual_seed(0)
    teacher = linear_cartpole_teacher
    student = build_student({"network": "actor_critic", "arch": {"hidden": [8], "critic": False}}, teacher, CARTPOLE)
    before = evaluate_policy(student, CARTPOLE, 10, seed=7, deterministic=False)["return_mean"]  # ~uniform
    cfg = DistillConfig(data=data, total_steps=4096, num_envs=4, steps_per_iteration=64, eval_every=1000)
    history = distill_policy(student, teacher, CARTPOLE, cfg, TRAINING, distillation_loss("kl"), seed=0,
                             device=torch.device("cpu"))
    teacher_return = evaluate_policy(teacher, CARTPOLE, 10, seed=7)["return_mean"]
    after = evaluate_policy(student, CARTPOLE, 10, seed=7)["return_mean"]
    assert teacher_return == 500.0
    assert before < 60
    assert after >= 0.9 * teacher_return, f"student {after:.1f} vs teacher {teacher_return:.1f} ({data})"
    assert history[0]["teacher_share"] == (0.0 if data == "student" else 1.0)
    assert history[-1]["loss"] < history[0]["loss"]


@pytest.mark.parametrize("loss", ["nll", "mse"])
def test_nll_and_mse_losses_with_teacher_data_also_learn(linear_cartpole_teacher, loss):
    """teacher_action_nll (the teacher's greedy action) and logit_mse (its logits) on the teacher's states."""
    torch.manual_seed(1)
    student = build_student({"network": "actor_critic", "arch": {"hidden": [8], "critic": False}},
                            linear_cartpole_teacher, CARTPOLE)
    cfg = DistillConfig(data="teacher", total_steps=4096, num_envs=4, steps_per_iteration=64, eval_every=1000)
    distill_policy(student, linear_cartpole_teacher, CARTPOLE, cfg, TRAINING, distillation_loss(loss), seed=1,
                   device=torch.device("cpu"))
    assert evaluate_policy(student, CARTPOLE, 10, seed=7)["return_mean"] >= 300


def test_size_report_counts_policy_parameters():
    teacher = build_student({"network": "actor_critic", "arch": {"hidden": [64, 64]}},
                            _identity_norm_teacher(), CARTPOLE)
    student = build_student({"network": "actor_critic", "arch": {"hidden": [16], "critic": False}}, teacher, CARTPOLE)
    sizes = size_report(teacher, student)
    assert sizes["teacher_parameters"] == (4 * 64 + 64) + (64 * 64 + 64) + (64 * 2 + 2)  # actor only
    assert sizes["student_parameters"] == (4 * 16 + 16) + (16 * 2 + 2)
    assert sizes["compression"] == pytest.approx(4610 / 114)


def _identity_norm_teacher():
    from kd.rl.teacher_model.networks import ActorCritic

    return ActorCritic([4], "discrete", 2, hidden=[], normalize_obs=False)


def test_q_value_teacher_with_sharp_temperature(linear_cartpole_teacher):
    """Rusu et al.: Q-values differ by little, softmax(Q / 0.01) turns them into a usable target for policy_kl."""
    from kd.rl.teacher_model.networks import QNetwork

    q_teacher = QNetwork([4], "discrete", 2, hidden=[])
    with torch.no_grad():  # Q = [0, 0.002 * w . obs]: the controller's preference, but tiny gaps
        q_teacher.q[0].weight.copy_(linear_cartpole_teacher.actor[0].weight * 2e-4)
        q_teacher.q[0].bias.zero_()
    torch.manual_seed(2)
    student = build_student({"network": "actor_critic", "arch": {"hidden": [8], "critic": False}}, q_teacher, CARTPOLE)
    cfg = DistillConfig(data="student", total_steps=4096, num_envs=4, steps_per_iteration=64, eval_every=1000)
    distill_policy(student, q_teacher.eval(), CARTPOLE, cfg, TRAINING, distillation_loss("kl", temperature=0.01),
                   seed=2, device=torch.device("cpu"))
    assert evaluate_policy(q_teacher, CARTPOLE, 5, seed=7)["return_mean"] == 500.0
    assert evaluate_policy(student, CARTPOLE, 10, seed=7)["return_mean"] >= 450.0


@pytest.mark.parametrize("loss,data", [("gaussian_kl", "teacher"), ("gaussian_kl", "student"),
                                       ("gaussian_nll", "student"), ("mean_mse", "student")])
def test_continuous_student_learns_to_pump_energy(energy_pumping_teacher, mountain_car_continuous, loss, data):
    """The continuous losses on MountainCarContinuous: a student whose mean starts at ~0 never reaches the
    flag; distilled, it reaches it like the teacher (return ~93). gaussian_kl also carries the teacher's std."""
    teacher, env = energy_pumping_teacher, mountain_car_continuous
    torch.manual_seed(3)
    student = build_student({"network": "actor_critic", "arch": {"hidden": [8], "critic": False}}, teacher, env)
    before = evaluate_policy(student, env, 5, seed=7)["return_mean"]
    cfg = DistillConfig(data=data, total_steps=2048, num_envs=4, steps_per_iteration=64, eval_every=1000)
    distill_policy(student, teacher, env, cfg, TRAINING, distillation_loss(loss), seed=3, device=torch.device("cpu"))
    teacher_return = evaluate_policy(teacher, env, 10, seed=7)["return_mean"]
    after = evaluate_policy(student, env, 10, seed=7)["return_mean"]
    assert teacher_return > 90 and before < 10
    assert after >= 0.9 * teacher_return, f"student {after:.1f} vs teacher {teacher_return:.1f} ({loss}, {data})"
    if loss == "gaussian_kl":
        assert student.log_std.item() == pytest.approx(teacher.log_std.item(), abs=0.3)  # from 0 towards log 0.3


def test_time_budget_stops_after_one_iteration(linear_cartpole_teacher):
    student = build_student({"network": "actor_critic", "arch": {"hidden": [8], "critic": False}},
                            linear_cartpole_teacher, CARTPOLE)
    cfg = DistillConfig(total_steps=4096, num_envs=2, steps_per_iteration=16, eval_episodes=1, max_minutes=0.0)
    history = distill_policy(student, linear_cartpole_teacher, CARTPOLE, cfg,
                             StudentTraining(batch_size=8, updates_per_iteration=1), distillation_loss("kl"), seed=0,
                             device=torch.device("cpu"),
                             evaluate=lambda p: evaluate_policy(p, CARTPOLE, 1, seed=0))
    assert len(history) == 1 and history[0]["stopped_by_time_budget"] and "eval_return" in history[0]
