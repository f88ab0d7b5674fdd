"""Direct Preference Optimization on the same K-way rankings (all non-tied pairs).

Our own loop around the DPO loss rather than trl's DPOTrainer: same resumable state, progress
and stop signal as the other stages, chosen and rejected forwarded in one batch, and no trainer
overhead. The reference is the frozen parent checkpoint.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import torch

from training.ml.batching import Batch, collate, response_logprobs, tokenize_pair
from training.ml.config import DPOConfig
from training.ml.data import RankedPrompt, preference_pairs
from training.ml.losses import dpo_loss
from training.ml.models import load_causal_lm, load_tokenizer
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
    steps_per_epoch,
    write_checkpoint,
)

# (prompt ids, chosen ids, rejected ids)
PairRow = tuple[list[int], list[int], list[int]]


def tokenize_pairs(tokenizer, rankings: Sequence[RankedPrompt], max_length: int) -> list[PairRow]:
    """Every non-tied (chosen, rejected) pair of every ranking, tokenized."""
    rows = []
    for r in rankings:
        for chosen, rejected in preference_pairs(r):
            p, c = tokenize_pair(tokenizer, r.prompt, chosen, max_length)
            _, j = tokenize_pair(tokenizer, r.prompt, rejected, max_length)
            rows.append((p, c, j))
    return rows


def collate_pairs(rows: Sequence[PairRow], pad_id: int) -> Batch:
    """Chosen rows first, then rejected rows, in one batch so each model forwards once."""
    return collate([p for p, _, _ in rows] * 2, [c for _, c, _ in rows] + [j for _, _, j in rows], pad_id)


def summed_logprobs(model, batch: Batch) -> torch.Tensor:
    """log pi(y | x) of every row: the sum of its response token log-probabilities: [B]."""
    return (response_logprobs(model, batch) * batch.response_mask).sum(1)


def pair_accuracy(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor) -> float:
    """Fraction of pairs whose chosen response has the higher implicit reward (ties count half)."""
    return float(((chosen_rewards > rejected_rewards).float() + 0.5 * (chosen_rewards == rejected_rewards).float()).mean())


def dpo_batch(policy, ref, batch: Batch, beta: float, runtime) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO loss and implicit rewards (chosen, rejected) of a collated pair batch."""
    n = batch.input_ids.shape[0] // 2
    with torch.no_grad(), autocast(runtime):
        ref_logps = summed_logprobs(ref, batch)
    with autocast(runtime):
        logps = summed_logprobs(policy, batch)
    return dpo_loss(logps[:n], logps[n:], ref_logps[:n], ref_logps[n:], beta)


@torch.no_grad()
def evaluate_dpo(policy, ref, rows: list[PairRow], pad_id: int, config: DPOConfig) -> dict:
    """Held-out preference accuracy, reward margin and loss (nan when there are no pairs)."""
    if not rows:
        return {"accuracy": float("nan"), "reward_margin": float("nan"), "loss": float("nan")}
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    chosen, rejected, loss_sum = [], [], 0.0
    for i in range(0, len(rows), config.batch_size):
        chunk = rows[i : i + config.batch_size]
        loss, c, r = dpo_batch(policy, ref, collate_pairs(chunk, pad_id).to(device), config.beta, config.runtime)
        chosen.append(c)
        rejected.append(r)
        loss_sum += float(loss) * len(chunk)
    policy.train(was_training)
    c, r = torch.cat(chosen), torch.cat(rejected)
    return {"accuracy": pair_accuracy(c, r), "reward_margin": float((c - r).mean()), "loss": loss_sum / len(rows)}


def train_dpo(
    config: DPOConfig,
    train: Sequence[RankedPrompt],
    eval: Sequence[RankedPrompt],
    *,
    parent: str | Path,
    out_dir: str | Path,
    snapshot_id: str | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> StageResult:
    """Train the `parent` policy with DPO on all non-tied pairs of the rankings.

    Per-step metrics: loss, reward_margin, accuracy, chosen_reward, rejected_reward, lr,
    grad_norm, tokens_per_s, and eval_accuracy/eval_reward_margin every `eval_every` steps.
    Final metrics: eval_accuracy, eval_reward_margin, eval_loss, train_loss.
    """
    out_dir = Path(out_dir)
    runtime = config.runtime
    device = runtime.torch_device()
    seed_everything(runtime.seed)
    tokenizer = load_tokenizer(parent)
    policy = load_causal_lm(parent, runtime, trainable=True)
    ref = load_causal_lm(parent, runtime)
    pad_id = tokenizer.pad_token_id
    train_rows = tokenize_pairs(tokenizer, train, config.max_length)
    eval_rows = tokenize_pairs(tokenizer, eval, config.max_length)
    per_epoch = steps_per_epoch(len(train_rows), config.batch_size)
    total = config.epochs * per_epoch
    optimizer, scheduler = build_optimizer(policy.parameters(), config, total)
    state = dict(models={"model": policy}, optimizers={"optimizer": optimizer}, schedulers={"scheduler": scheduler})

    resumed = load_state(out_dir, **state)
    step, history, extra = resumed if resumed else (0, [], {})

    while step < total:
        if should_stop is not None and should_stop():
            save_state(out_dir, step=step, history=history, extra=extra, **state)
            return StageResult(None, history[-1] if history else {}, history, stopped=True)
        started = time.perf_counter()
        epoch, i = divmod(step, per_epoch)
        index = epoch_order(len(train_rows), runtime.seed, epoch)[i * config.batch_size : (i + 1) * config.batch_size]
        batch = collate_pairs([train_rows[j] for j in index], pad_id).to(device)
        loss, chosen, rejected = dpo_batch(policy, ref, batch, config.beta, runtime)
        loss.backward()
        lr = scheduler.get_last_lr()[0]
        grad_norm = clip_and_step(policy, optimizer, scheduler, config.max_grad_norm)
        step += 1
        metrics = {
            "step": step,
            "loss": float(loss.detach()),
            "reward_margin": float((chosen - rejected).mean()),
            "accuracy": pair_accuracy(chosen, rejected),
            "chosen_reward": float(chosen.mean()),
            "rejected_reward": float(rejected.mean()),
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens_per_s": int(batch.attention_mask.sum()) / (time.perf_counter() - started),
        }
        if config.eval_every and step % config.eval_every == 0 and step < total:
            ev = evaluate_dpo(policy, ref, eval_rows, pad_id, config)
            metrics.update(eval_accuracy=ev["accuracy"], eval_reward_margin=ev["reward_margin"])
        history.append(metrics)
        if progress is not None:
            progress(step, total, metrics)
        if config.save_every and step % config.save_every == 0:
            save_state(out_dir, step=step, history=history, extra=extra, **state)

    ev = evaluate_dpo(policy, ref, eval_rows, pad_id, config)
    final = {
        "train_loss": history[-1]["loss"] if history else float("nan"),
        "eval_accuracy": ev["accuracy"],
        "eval_reward_margin": ev["reward_margin"],
        "eval_loss": ev["loss"],
        "steps": total,
    }
    save_state(out_dir, step=step, history=history, extra=extra, **state)
    checkpoint = write_checkpoint(
        policy, tokenizer, out_dir, stage="dpo", parent=parent, snapshot_id=snapshot_id, config=config, metrics=final
    )
    return StageResult(checkpoint, final, history)
