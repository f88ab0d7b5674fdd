"""PPO against a reward model, as InstructGPT trains its policy (Ouyang et al. 2022, 3.5).

Four networks: the policy (initialised from SFT, trained), the value network (initialised from
the reward model, trained, one scalar per token), the frozen reference (the SFT model) and the
frozen reward model. Each step samples one response per prompt, scores it, turns the score and
the per-token KL to the reference into per-token rewards, estimates advantages with GAE, then
runs `ppo_epochs` passes of clipped-surrogate and clipped-value updates over minibatches.
Our own implementation: trl >= 1.13 has no PPOTrainer.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from training.ml.batching import (
    Batch,
    collate,
    response_logits,
    response_logprobs,
    scalar_head_per_token,
    sequence_scores,
    token_logprobs,
    tokenize_pair,
    tokenize_prompt,
)
from training.ml.config import PPOConfig
from training.ml.data import Demonstration
from training.ml.losses import (
    AdaptiveKLController,
    entropy_from_logits,
    gae,
    kl_penalized_rewards,
    masked_mean,
    masked_whiten,
    ppo_policy_loss,
    ppo_value_loss,
    sft_loss,
)
from training.ml.models import load_causal_lm, load_reward_model, load_tokenizer
from training.ml.sampling import sample_token_ids
from training.ml.stages.state import (
    Progress,
    ShouldStop,
    StageResult,
    autocast,
    build_optimizer,
    clip_and_step,
    epoch_order,
    load_state,
    save_state,
    seed_everything,
    write_checkpoint,
)


@dataclass
class Rollout:
    """One rollout batch; every [B, R] tensor is aligned with batch.responses."""

    batch: Batch
    old_logprobs: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    scores: torch.Tensor
    kl: torch.Tensor

    def select(self, index: torch.Tensor) -> "Rollout":
        batch = self.batch.select(index)
        r = batch.response_mask.shape[1]
        return Rollout(
            batch,
            *(t[index][:, :r] for t in (self.old_logprobs, self.old_values, self.advantages, self.returns)),
            self.scores[index],
            self.kl[index][:, :r],
        )


def response_values(value_model, batch: Batch) -> torch.Tensor:
    """V(s_t) for each response token t: the value head on the state before t: [B, R]."""
    return scalar_head_per_token(value_model, batch)[:, batch.prompt_width - 1 : -1]


@torch.no_grad()
def make_rollout(policy, ref, value_model, reward_model, prompts: list[list[int]], tokenizer, config: PPOConfig, beta: float) -> Rollout:
    """Sample one response per prompt and compute everything the updates need."""
    device = next(policy.parameters()).device
    policy.eval()
    with autocast(config.runtime):
        responses = sample_token_ids(
            policy,
            prompts,
            eos_id=tokenizer.eos_token_id,
            pad_id=tokenizer.pad_token_id,
            k=1,
            temperature=config.temperature,
            top_p=config.top_p,
            max_new_tokens=config.max_new_tokens,
        )
    batch = collate(prompts, responses, tokenizer.pad_token_id).to(device)
    mask = batch.response_mask.float()
    with autocast(config.runtime):
        old_logprobs = response_logprobs(policy, batch, config.temperature)
        ref_logprobs = response_logprobs(ref, batch, config.temperature)
        values = response_values(value_model, batch)
        scores = sequence_scores(reward_model, batch)
    policy.train()
    rewards, kl = kl_penalized_rewards(scores, old_logprobs, ref_logprobs, mask, beta)
    advantages, returns = gae(rewards, values, mask, config.gamma, config.lam)
    if config.whiten_advantages:
        advantages = masked_whiten(advantages, mask)
    return Rollout(batch, old_logprobs * mask, values * mask, advantages, returns, scores, kl)


def ppo_update(policy, value_model, policy_opt, value_opt, policy_sched, value_sched, rollout: Rollout, config: PPOConfig, ptx_batch: Batch | None = None) -> dict:
    """One minibatch update of policy and value network; returns its metrics.

    The policy minimises -L^CLIP (+ ptx_coef * SFT NLL on demonstrations, InstructGPT eq. 2's
    pretraining term); the value network minimises the clipped value loss with its own optimiser.
    """
    runtime = config.runtime
    batch, mask = rollout.batch, rollout.batch.response_mask.float()
    with autocast(runtime):
        logits = response_logits(policy, batch)
    logprobs = token_logprobs(logits, batch.responses, config.temperature)
    policy_loss, clip_frac = ppo_policy_loss(logprobs, rollout.old_logprobs, rollout.advantages, mask, config.clip_eps)
    loss = policy_loss
    ptx = None
    if ptx_batch is not None:
        with autocast(runtime):
            ptx = sft_loss(response_logprobs(policy, ptx_batch), ptx_batch.response_mask)
        loss = loss + config.ptx_coef * ptx
    loss.backward()
    clip_and_step(policy, policy_opt, policy_sched, config.max_grad_norm)

    with autocast(runtime):
        values = response_values(value_model, batch)
    value_loss = ppo_value_loss(values, rollout.old_values, rollout.returns, mask, config.value_clip)
    (config.value_coef * value_loss).backward()
    clip_and_step(value_model, value_opt, value_sched, config.max_grad_norm)

    with torch.no_grad():
        metrics = {
            "policy_loss": float(policy_loss),
            "value_loss": float(value_loss),
            "clip_frac": float(clip_frac),
            "entropy": float(masked_mean(entropy_from_logits(logits / config.temperature), mask)),
            "approx_kl": float(masked_mean(0.5 * (logprobs - rollout.old_logprobs) ** 2, mask)),
        }
        if ptx is not None:
            metrics["ptx_loss"] = float(ptx)
    return metrics


def train_ppo(
    config: PPOConfig,
    prompts: Sequence[str],
    *,
    policy: str | Path,
    reward_model: str | Path,
    out_dir: str | Path,
    snapshot_id: str | None = None,
    ptx_data: Sequence[Demonstration] = (),
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> StageResult:
    """Optimise the SFT checkpoint `policy` against `reward_model` with PPO; checkpoint to out_dir.

    Per-step metrics: reward_mean, kl (per response, to the reference), beta, clip_frac,
    value_loss, policy_loss, entropy, response_length, approx_kl, tokens_per_s (rollout and
    update together) and update_tokens_per_s. Final metrics: the mean of the last 10% of steps
    plus reward_mean_initial (the first step).
    """
    if not prompts:
        raise ValueError("PPO needs at least one prompt")
    out_dir = Path(out_dir)
    runtime = config.runtime
    device = runtime.torch_device()
    seed_everything(runtime.seed)
    tokenizer = load_tokenizer(policy)
    policy_model = load_causal_lm(policy, runtime, trainable=True)
    ref = load_causal_lm(policy, runtime)
    value_model = load_reward_model(reward_model, runtime, trainable=True)
    rm = load_reward_model(reward_model, runtime)
    prompt_ids = [tokenize_prompt(tokenizer, p, config.max_prompt_length) for p in prompts]
    ptx_rows = [tokenize_pair(tokenizer, d.prompt, d.response, config.max_prompt_length + config.max_new_tokens) for d in ptx_data]
    use_ptx = config.ptx_coef > 0 and bool(ptx_rows)

    n_minibatches = -(-config.rollout_batch_size // config.minibatch_size)
    updates = config.steps * config.ppo_epochs * n_minibatches
    policy_opt, policy_sched = build_optimizer(policy_model.parameters(), config, updates)
    value_opt, value_sched = build_optimizer(value_model.parameters(), config, updates, lr=config.value_lr)
    state = dict(
        models={"policy": policy_model, "value": value_model},
        optimizers={"policy": policy_opt, "value": value_opt},
        schedulers={"policy": policy_sched, "value": value_sched},
    )
    resumed = load_state(out_dir, **state)
    step, history, extra = resumed if resumed else (0, [], {"beta": config.beta})
    kl_ctl = AdaptiveKLController(extra["beta"], config.target_kl, config.kl_horizon)

    def cyclic(items: list, start: int, count: int, salt: int) -> list:
        # Epoch permutations of a pure function of (seed, epoch): the step is the data position.
        out = []
        for k in range(start, start + count):
            epoch, i = divmod(k, len(items))
            out.append(items[epoch_order(len(items), runtime.seed + salt, epoch)[i]])
        return out

    while step < config.steps:
        if should_stop is not None and should_stop():
            save_state(out_dir, step=step, history=history, extra={"beta": kl_ctl.beta}, **state)
            return StageResult(None, history[-1] if history else {}, history, stopped=True)
        started = time.perf_counter()
        batch_prompts = cyclic(prompt_ids, step * config.rollout_batch_size, config.rollout_batch_size, 0)
        rollout = make_rollout(policy_model, ref, value_model, rm, batch_prompts, tokenizer, config, kl_ctl.beta)
        update_started = time.perf_counter()
        update_metrics: list[dict] = []
        n = rollout.scores.shape[0]
        for epoch in range(config.ppo_epochs):
            order = torch.randperm(n)
            for m in range(n_minibatches):
                index = order[m * config.minibatch_size : (m + 1) * config.minibatch_size]
                ptx_batch = None
                if use_ptx:
                    u = (step * config.ppo_epochs + epoch) * n_minibatches + m
                    rows = cyclic(ptx_rows, u * config.ptx_batch_size, config.ptx_batch_size, 1)
                    ptx_batch = collate([p for p, _ in rows], [r for _, r in rows], tokenizer.pad_token_id).to(device)
                update_metrics.append(
                    ppo_update(policy_model, value_model, policy_opt, value_opt, policy_sched, value_sched,
                               rollout.select(index), config, ptx_batch)
                )
        finished = time.perf_counter()
        kl_per_response = float(rollout.kl.sum(1).mean())
        mask = rollout.batch.response_mask
        step += 1
        metrics = {
            "step": step,
            "reward_mean": float(rollout.scores.mean()),
            "reward_std": float(rollout.scores.std()) if n > 1 else 0.0,
            "kl": kl_per_response,
            "beta": kl_ctl.beta,
            "response_length": float(mask.sum(1).float().mean()),
            **{k: sum(m[k] for m in update_metrics) / len(update_metrics) for k in update_metrics[0]},
            "tokens_per_s": int(rollout.batch.attention_mask.sum()) / (finished - started),
            "update_tokens_per_s": config.ppo_epochs * int(rollout.batch.attention_mask.sum()) / (finished - update_started),
        }
        if config.adaptive_kl:
            kl_ctl.update(kl_per_response, n)
        history.append(metrics)
        if progress is not None:
            progress(step, config.steps, metrics)
        if config.save_every and step % config.save_every == 0:
            save_state(out_dir, step=step, history=history, extra={"beta": kl_ctl.beta}, **state)

    tail = history[-max(1, len(history) // 10) :]
    final = {k: sum(h[k] for h in tail) / len(tail) for k in tail[0] if k != "step"} if tail else {}
    final["reward_mean_initial"] = history[0]["reward_mean"] if history else float("nan")
    final["steps"] = config.steps
    save_state(out_dir, step=step, history=history, extra={"beta": kl_ctl.beta}, **state)
    checkpoint = write_checkpoint(
        policy_model,
        tokenizer,
        out_dir,
        stage="ppo",
        parent=policy,
        snapshot_id=snapshot_id,
        config={**asdict(config), "reward_model": str(reward_model)},
        metrics=final,
    )
    return StageResult(checkpoint, final, history)

