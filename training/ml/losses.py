"""The losses of every stage, as small pure functions on tensors.

Masks are 1 on real tokens and 0 on padding; every mean over tokens is a masked mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of x over positions where mask is 1 (over all dims, or along `dim`)."""
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean) / std over masked positions; padding positions come out as 0."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def sft_loss(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the response tokens only: -mean_t log pi(y_t | x, y_<t)."""
    return -masked_mean(logprobs, mask)


def pairwise_reward_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry pair loss, mean over pairs: -log sigmoid(r(x, y_w) - r(x, y_l))."""
    return -F.logsigmoid(chosen - rejected).mean()


def kwise_reward_loss(rewards: torch.Tensor, ranks: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """InstructGPT reward loss (Ouyang et al. 2022, eq. 1) on K-way rankings.

        loss = -1 / C(K,2) * E_{(x, y_w, y_l)} [ log sigmoid(r(x, y_w) - r(x, y_l)) ]

    rewards, ranks, groups: [N] flat over all completions of the batch; groups[i] says which
    prompt completion i belongs to; ranks (1 = best) compare only within a group, ties are
    skipped. Each prompt contributes the mean over its non-tied pairs, and the loss is the mean
    over prompts, so a prompt with K=9 weighs as much as one with K=4, as in the paper, where
    all pairs of a prompt form one batch element.
    """
    same = groups.unsqueeze(1) == groups.unsqueeze(0)
    better = ranks.unsqueeze(1) < ranks.unsqueeze(0)  # [i, j]: i is preferred to j
    pairs = (same & better).to(rewards.dtype)
    pair_loss = -F.logsigmoid(rewards.unsqueeze(1) - rewards.unsqueeze(0))
    # 1 / (number of pairs of the winner's prompt), so each prompt's pairs average to one term.
    _, group_index = torch.unique(groups, return_inverse=True)
    pairs_per_group = torch.zeros(int(group_index.max()) + 1, dtype=rewards.dtype, device=rewards.device)
    pairs_per_group.index_add_(0, group_index, pairs.sum(1))
    weight = pairs / pairs_per_group[group_index].clamp(min=1).unsqueeze(1)
    n_groups_with_pairs = (pairs_per_group > 0).sum().clamp(min=1)
    return (pair_loss * weight).sum() / n_groups_with_pairs


def kwise_pair_accuracy(rewards: torch.Tensor, ranks: torch.Tensor, groups: torch.Tensor) -> tuple[int, int]:
    """(correct, total) over the non-tied pairs: the better-ranked completion scored higher."""
    same = groups.unsqueeze(1) == groups.unsqueeze(0)
    better = ranks.unsqueeze(1) < ranks.unsqueeze(0)
    pairs = same & better
    correct = pairs & (rewards.unsqueeze(1) > rewards.unsqueeze(0))
    return int(correct.sum()), int(pairs.sum())


def ppo_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO clipped surrogate objective (Schulman et al. 2017, eq. 7; the lecture's L^CLIP).

        rho_t = pi_theta(a_t | s_t) / pi_theta_old(a_t | s_t)
        L^CLIP = E_t[ min(rho_t * A_t, clip(rho_t, 1 - eps, 1 + eps) * A_t) ]

    Returns (loss = -L^CLIP, fraction of tokens where the clipped term was the one used).
    """
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    objective = torch.minimum(unclipped, clipped)
    clip_frac = masked_mean((clipped < unclipped).to(logprobs.dtype), mask)
    return -masked_mean(objective, mask), clip_frac


def ppo_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float,
) -> torch.Tensor:
    """Clipped value loss (as in OpenAI baselines' PPO2 and InstructGPT's implementation).

        V_clip = V_old + clip(V - V_old, -eps, eps)
        L^V = 1/2 * E_t[ max((V - R_t)^2, (V_clip - R_t)^2) ]

    The lecture's squared error between the value network and the actual values, kept from
    moving further than eps from the rollout's prediction per update.
    """
    clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    return 0.5 * masked_mean(torch.maximum((values - returns) ** 2, (clipped - returns) ** 2), mask)


def kl_penalized_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token reward of InstructGPT's RL objective (Ouyang et al. 2022, eq. 2, without ptx).

        r_t = -beta * (log pi(y_t) - log pi_ref(y_t)),  plus r_theta(x, y) on the last token.

    scores: [B] reward-model scores; the rest [B, R]. Returns (rewards [B, R], per-token KL
    estimate [B, R]).
    """
    kl = (logprobs - ref_logprobs) * mask
    rewards = -beta * kl
    last = (mask.sum(1) - 1).clamp(min=0).long()
    rewards = rewards.scatter_add(1, last.unsqueeze(1), scores.to(rewards.dtype).unsqueeze(1))
    return rewards * mask, kl


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized Advantage Estimation (Schulman et al. 2016, eqs. 11-16).

        delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)
        A_t = sum_l (gamma * lam)^l * delta_{t+l}
        R_t = A_t + V(s_t)          (the value target)

    rewards, values, mask: [B, R], responses right-padded; V after the last token is 0.
    Returns (advantages, returns), zero on padding.
    """
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) per position: -sum_v p_v log p_v."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO loss (Rafailov et al. 2023, eq. 7), on summed response log-probabilities [B].

        L = -E[ log sigmoid( beta * log(pi(y_w)/pi_ref(y_w)) - beta * log(pi(y_l)/pi_ref(y_l)) ) ]

    Returns (loss, implicit reward of chosen [B], implicit reward of rejected [B]).
    """
    chosen_rewards = beta * (policy_chosen - ref_chosen)
    rejected_rewards = beta * (policy_rejected - ref_rejected)
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


class AdaptiveKLController:
    """Adaptive KL coefficient of Ziegler et al. (2019), section 2.2.

        e_t = clip((KL_t - KL_target) / KL_target, -0.2, 0.2)
        beta_{t+1} = beta_t * (1 + K_beta * e_t),  K_beta = n_responses / horizon
    """

    def __init__(self, beta: float, target: float, horizon: int):
        self.beta, self.target, self.horizon = beta, target, horizon

    def update(self, kl: float, n_responses: int) -> float:
        error = min(max((kl - self.target) / self.target, -0.2), 0.2)
        self.beta *= 1.0 + error * n_responses / self.horizon
        return self.beta
