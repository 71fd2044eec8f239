"""Policy distillation losses and RL metrics, checked by hand."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from kd.common.losses.policy import gaussian_kl, gaussian_log_likelihood_of_mean, policy_kl, teacher_action_nll
from kd.common.metrics.rl import format_return, last_training_episodes, percent_of_teacher, return_stats
from kd.common.utils.errors import ConfigError
from kd.rl.distillation import distillation_loss
from kd.rl.teacher_model.networks import PolicyOutput


def test_policy_kl_tempers_only_the_teacher():
    teacher, student = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    p = [math.exp(2) / (math.exp(2) + math.exp(4)), math.exp(4) / (math.exp(2) + math.exp(4))]  # softmax([1,2]/0.5)
    expected = sum(pi * math.log(pi / 0.5) for pi in p)
    assert policy_kl(student, teacher, temperature=0.5).item() == pytest.approx(expected, rel=1e-5)


def test_policy_kl_small_temperature_sharpens_q_values():
    q = torch.tensor([[1.0, 1.02]])  # nearly equal Q-values: temperature=0.01 makes the target ~[0.12, 0.88]
    target = torch.softmax(q / 0.01, -1)
    student = torch.log(target)  # a student that matches the sharpened target exactly
    assert target[0, 1].item() == pytest.approx(1 / (1 + math.exp(-2)), rel=1e-5)
    assert policy_kl(student, q, temperature=0.01).item() == pytest.approx(0.0, abs=1e-6)
    uniform = torch.zeros(1, 2)
    assert policy_kl(uniform, q, temperature=1.0).item() < 1e-3 < policy_kl(uniform, q, temperature=0.01).item()


def test_policy_kl_is_zero_for_equal_policies_and_gradient_reaches_only_the_student():
    teacher = torch.randn(5, 3, requires_grad=True)
    student = teacher.detach().clone().requires_grad_(True)
    loss = policy_kl(student, teacher)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    policy_kl(student, teacher + 1.0 * torch.tensor([1.0, 0.0, 0.0])).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0 and teacher.grad is None


def test_teacher_action_nll_by_hand():
    student = torch.tensor([[0.0, math.log(3.0)]])  # pi_S = [0.25, 0.75]
    assert teacher_action_nll(student, torch.tensor([[0.1, 0.7]])).item() == pytest.approx(-math.log(0.75), rel=1e-5)
    assert teacher_action_nll(student, torch.tensor([[0.9, 0.7]])).item() == pytest.approx(-math.log(0.25), rel=1e-5)


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu_s, mu_t = torch.randn(7, 3), torch.randn(7, 3)
    log_s, log_t = 0.3 * torch.randn(3), 0.3 * torch.randn(3)
    expected = kl_divergence(Normal(mu_t, log_t.exp()), Normal(mu_s, log_s.exp())).sum(-1).mean()
    kl = gaussian_kl(mu_s, log_s.expand(7, 3), mu_t, log_t.expand(7, 3))
    assert kl.item() == pytest.approx(expected.item(), rel=1e-5)
    assert gaussian_kl(mu_t, log_t, mu_t, log_t).item() == pytest.approx(0.0, abs=1e-6)


def test_gaussian_nll_of_teacher_mean_by_hand():
    value = gaussian_log_likelihood_of_mean(torch.tensor([[0.0]]), torch.tensor([0.0]), torch.tensor([[1.0]]))
    assert value.item() == pytest.approx(0.5 + 0.5 * math.log(2 * math.pi), rel=1e-6)


def test_distillation_loss_refuses_a_loss_that_does_not_fit_the_actions():
    discrete = PolicyOutput("logits", logits=torch.zeros(2, 3))
    gaussian = PolicyOutput("gaussian", mean=torch.zeros(2, 1), log_std=torch.zeros(2, 1))
    assert distillation_loss("kl")(discrete, discrete).item() == pytest.approx(0.0, abs=1e-7)
    assert distillation_loss("gaussian_kl")(gaussian, gaussian).item() == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ConfigError, match="does not fit continuous"):
        distillation_loss("kl")(gaussian, gaussian)
    with pytest.raises(ConfigError, match="does not fit discrete"):
        distillation_loss("gaussian_kl")(discrete, discrete)


def test_return_stats_and_percent_of_teacher():
    stats = return_stats([100.0, 200.0, 300.0])
    assert stats["return_mean"] == 200.0 and stats["episodes"] == 3
    # the population std over the episodes (/ N, documented in return_stats and the RL README: the per-run +- there
    # are this one); the sample std would be 100.0
    assert stats["return_std"] == pytest.approx(math.sqrt(20000 / 3))
    assert format_return(stats) == "200.0 +- 81.6 (n=3)"
    assert percent_of_teacher(450.0, 500.0) == pytest.approx(90.0)
    assert percent_of_teacher(100.0, 200.0, random_return=-200.0) == pytest.approx(75.0)


def test_last_training_episodes_reads_the_newest_episodes_across_records():
    history = [{"train_episode_returns": [1.0, 2.0]}, {"eval_return": 9.0}, {"train_episode_returns": [3.0, 5.0]}]
    assert last_training_episodes(history, n=3) == return_stats([2.0, 3.0, 5.0])
    assert last_training_episodes(history)["episodes"] == 4
    assert last_training_episodes([{"eval_return": 1.0}]) is None
