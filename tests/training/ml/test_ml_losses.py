"""The losses on exact small tensors."""

import math
from itertools import combinations

import pytest
import torch

from training.ml.losses import (
    AdaptiveKLController,
    dpo_loss,
    gae,
    kl_penalized_rewards,
    kwise_pair_accuracy,
    kwise_reward_loss,
    masked_whiten,
    pairwise_reward_loss,
    ppo_policy_loss,
    ppo_value_loss,
    sft_loss,
)

ONE = torch.ones(1, 1)


def test_clipped_objective_uses_the_lectures_numbers():
    # Lecture: p_old = 0.2, p = 0.4, A = 10 -> unclipped 0.4/0.2 * 10 = 20, clipped to (1 + eps) * 10.
    loss, clip_frac = ppo_policy_loss(
        torch.tensor([[math.log(0.4)]]), torch.tensor([[math.log(0.2)]]), torch.tensor([[10.0]]), ONE, clip_eps=0.2
    )
    assert loss.item() == pytest.approx(-(1 + 0.2) * 10)
    assert clip_frac.item() == 1.0


def test_clipped_objective_keeps_the_smaller_unclipped_term():
    # Lecture's second scenario: 0.4/0.8 * 10 = 5 is below the clipped 0.8 * 10 = 8, so min keeps 5.
    loss, clip_frac = ppo_policy_loss(
        torch.tensor([[math.log(0.4)]]), torch.tensor([[math.log(0.8)]]), torch.tensor([[10.0]]), ONE, clip_eps=0.2
    )
    assert loss.item() == pytest.approx(-5.0)
    assert clip_frac.item() == 0.0


def test_clipped_objective_is_pessimistic_for_negative_advantages():
    # ratio 2, A = -10: unclipped -20 is worse than clipped -12, so the objective keeps -20.
    loss, _ = ppo_policy_loss(
        torch.tensor([[math.log(0.4)]]), torch.tensor([[math.log(0.2)]]), torch.tensor([[-10.0]]), ONE, clip_eps=0.2
    )
    assert loss.item() == pytest.approx(20.0)


def test_clipped_objective_ignores_padding():
    logp = torch.tensor([[math.log(0.4), 0.0]])
    old = torch.tensor([[math.log(0.2), 5.0]])
    adv = torch.tensor([[10.0, 1000.0]])
    loss, _ = ppo_policy_loss(logp, old, adv, torch.tensor([[1.0, 0.0]]), clip_eps=0.2)
    assert loss.item() == pytest.approx(-12.0)


def test_value_loss_takes_the_larger_of_clipped_and_unclipped_error():
    # V = 2, V_old = 1, R = 3, eps 0.2: unclipped (2-3)^2 = 1, clipped (1.2-3)^2 = 3.24.
    loss = ppo_value_loss(torch.tensor([[2.0]]), torch.tensor([[1.0]]), torch.tensor([[3.0]]), ONE, clip_eps=0.2)
    assert loss.item() == pytest.approx(0.5 * 3.24)
    inside = ppo_value_loss(torch.tensor([[1.1]]), torch.tensor([[1.0]]), torch.tensor([[3.0]]), ONE, clip_eps=0.2)
    assert inside.item() == pytest.approx(0.5 * 1.9**2)


def test_kwise_loss_equals_mean_pairwise_loss_over_all_pairs():
    torch.manual_seed(0)
    rewards = torch.randn(4)
    ranks = torch.tensor([2, 1, 4, 3])
    expected = pairwise_reward_loss(
        torch.stack([rewards[i] if ranks[i] < ranks[j] else rewards[j] for i, j in combinations(range(4), 2)]),
        torch.stack([rewards[j] if ranks[i] < ranks[j] else rewards[i] for i, j in combinations(range(4), 2)]),
    )
    got = kwise_reward_loss(rewards, ranks, torch.zeros(4, dtype=torch.long))
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_kwise_loss_averages_prompts_and_skips_ties():
    # Prompt 0: K=3 with a tie between completions 1 and 2 -> pairs (0>1), (0>2).
    # Prompt 1: K=2 -> one pair (4>3). Each prompt weighs the same.
    rewards = torch.tensor([1.0, 0.0, -1.0, 0.5, 2.0])
    ranks = torch.tensor([1, 2, 2, 2, 1])
    groups = torch.tensor([0, 0, 0, 1, 1])
    bt = lambda w, l: -torch.nn.functional.logsigmoid(torch.tensor(w - l))  # noqa: E731
    expected = ((bt(1.0, 0.0) + bt(1.0, -1.0)) / 2 + bt(2.0, 0.5)) / 2
    assert kwise_reward_loss(rewards, ranks, groups).item() == pytest.approx(expected.item(), rel=1e-6)
    assert kwise_pair_accuracy(rewards, ranks, groups) == (3, 3)


def test_kwise_loss_gradient_matches_pair_expansion():
    rewards = torch.tensor([0.3, -0.2, 0.9], requires_grad=True)
    kwise_reward_loss(rewards, torch.tensor([1, 2, 3]), torch.zeros(3, dtype=torch.long)).backward()
    expanded = rewards.detach().clone().requires_grad_(True)
    pairwise_reward_loss(expanded[[0, 0, 1]], expanded[[1, 2, 2]]).backward()
    assert torch.allclose(rewards.grad, expanded.grad)


def test_gae_with_lambda_one_gives_return_minus_value():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.full((1, 3), 0.5)
    adv, ret = gae(rewards, values, torch.ones(1, 3), gamma=1.0, lam=1.0)
    assert torch.allclose(adv, torch.tensor([[0.5, 0.5, 0.5]]))
    assert torch.allclose(ret, torch.ones(1, 3))


def test_gae_with_lambda_zero_gives_td_errors_and_respects_padding():
    rewards = torch.tensor([[0.0, 1.0, 0.0]])
    values = torch.tensor([[0.2, 0.4, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    adv, _ = gae(rewards, values, mask, gamma=0.9, lam=0.0)
    # delta_0 = 0 + 0.9 * 0.4 - 0.2; delta_1 = 1 + 0.9 * 0 (value after the end is 0) - 0.4.
    assert torch.allclose(adv, torch.tensor([[0.16, 0.6, 0.0]]))


def test_kl_penalty_per_token_and_score_on_the_last_real_token():
    logp = torch.tensor([[-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-2.0, -1.5, -7.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    rewards, kl = kl_penalized_rewards(torch.tensor([3.0]), logp, ref, mask, beta=0.1)
    assert torch.allclose(kl, torch.tensor([[1.0, 0.5, 0.0]]))
    assert torch.allclose(rewards, torch.tensor([[-0.1, -0.05 + 3.0, 0.0]]))


def test_dpo_loss_equation_7():
    loss, chosen, rejected = dpo_loss(
        torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.0]), beta=0.1
    )
    assert chosen.item() == pytest.approx(0.1) and rejected.item() == pytest.approx(-0.1)
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(-0.2))))


def test_sft_loss_counts_response_tokens_only():
    logp = torch.tensor([[-1.0, -3.0, -100.0]])
    assert sft_loss(logp, torch.tensor([[1, 1, 0]])).item() == pytest.approx(2.0)


def test_whitening_zero_mean_unit_variance_on_real_tokens():
    x = torch.tensor([[1.0, 2.0, 3.0, 50.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    w = masked_whiten(x, mask)
    assert w[0, 3] == 0 and w[0, :3].mean().abs() < 1e-6
    assert (w[0, :3] ** 2).mean().item() == pytest.approx(1.0, rel=1e-4)


def test_adaptive_kl_controller_moves_beta_towards_target():
    ctl = AdaptiveKLController(beta=0.1, target=6.0, horizon=100)
    assert ctl.update(kl=12.0, n_responses=10) == pytest.approx(0.1 * (1 + 0.2 * 0.1))
    ctl = AdaptiveKLController(beta=0.1, target=6.0, horizon=100)
    assert ctl.update(kl=3.0, n_responses=10) == pytest.approx(0.1 * (1 - 0.2 * 0.1))
