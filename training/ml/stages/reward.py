"""The InstructGPT reward model, trained on K-way rankings.

Every completion of a prompt is forwarded once and all C(K,2) non-tied pairs of the prompt
enter the loss together (one prompt per batch element), instead of expanding the ranking into
independent pairs that forward each completion K-1 times and overfit (Ouyang et al. 2022, 3.5).
Our own loop: trl's RewardTrainer takes pairs only and drops over-long examples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from training.ml.batching import Batch, collate, sequence_scores, tokenize_pair
from training.ml.config import RewardConfig
from training.ml.data import RankedPrompt, distinct_completions, preference_pairs
from training.ml.losses import kwise_pair_accuracy, kwise_reward_loss
from training.ml.models import load_reward_model, load_tokenizer
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


@dataclass
class RankingBatch:
    """All completions of a few prompts, flat: batch [N rows], ranks [N], groups [N]."""

    batch: Batch
    ranks: torch.Tensor
    groups: torch.Tensor


def tokenize_ranking(tokenizer, r: RankedPrompt, max_length: int) -> list[tuple[list[int], list[int], int]]:
    """(prompt ids, completion ids, rank) for each completion of a ranking."""
    return [(*tokenize_pair(tokenizer, r.prompt, c, max_length), rank) for c, rank in zip(r.completions, r.ranks)]


def collate_rankings(rankings: Sequence[list[tuple[list[int], list[int], int]]], pad_id: int) -> RankingBatch:
    """Flatten tokenized rankings into one batch; groups[i] is the index of row i's prompt."""
    rows = [(p, c, rank, g) for g, ranking in enumerate(rankings) for p, c, rank in ranking]
    return RankingBatch(
        collate([r[0] for r in rows], [r[1] for r in rows], pad_id),
        torch.tensor([r[2] for r in rows]),
        torch.tensor([r[3] for r in rows]),
    )


def _usable(rankings: Sequence[RankedPrompt]) -> list[RankedPrompt]:
    """Each distinct completion once per ranking; rankings left with no preference dropped."""
    return [d for r in rankings if (d := distinct_completions(r)) is not None and preference_pairs(d)]


@torch.no_grad()
def evaluate_reward(model, rankings, pad_id: int, config: RewardConfig) -> dict:
    """Pairwise accuracy and K-way loss on held-out rankings (nan when there are none)."""
    if not rankings:
        return {"accuracy": float("nan"), "loss": float("nan")}
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = pairs = 0
    loss_sum = 0.0
    for i in range(0, len(rankings), config.batch_size):
        rb = collate_rankings(rankings[i : i + config.batch_size], pad_id)
        with autocast(config.runtime):
            rewards = sequence_scores(model, rb.batch.to(device)).cpu()
        c, n = kwise_pair_accuracy(rewards, rb.ranks, rb.groups)
        correct, pairs = correct + c, pairs + n
        loss_sum += float(kwise_reward_loss(rewards, rb.ranks, rb.groups)) * len(rankings[i : i + config.batch_size])
    model.train(was_training)
    return {"accuracy": correct / max(pairs, 1), "loss": loss_sum / len(rankings)}


def train_reward_model(
    config: RewardConfig,
    train: Sequence[RankedPrompt],
    eval: Sequence[RankedPrompt],
    *,
    parent: str | Path,
    out_dir: str | Path,
    snapshot_id: str | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> StageResult:
    """Train a scalar-head reward model from the SFT checkpoint `parent` on K-way rankings.

    Copies of one text in a ranking count once (at their best rank); rankings whose
    completions are all tied or all the same carry no preference and are skipped.
    Per-step metrics: loss, accuracy (train pairs), lr, grad_norm, tokens_per_s, and
    eval_accuracy/eval_loss every `eval_every` steps. Final metrics: eval_accuracy,
    eval_accuracy_initial, eval_loss, train_loss.
    """
    out_dir = Path(out_dir)
    runtime = config.runtime
    device = runtime.torch_device()
    seed_everything(runtime.seed)
    tokenizer = load_tokenizer(parent)
    model = load_reward_model(parent, runtime, trainable=True)
    pad_id = tokenizer.pad_token_id
    train_rows = [tokenize_ranking(tokenizer, d, config.max_length) for d in _usable(train)]
    eval_rows = [tokenize_ranking(tokenizer, d, config.max_length) for d in _usable(eval)]
    per_epoch = steps_per_epoch(len(train_rows), config.batch_size)
    total = config.epochs * per_epoch
    optimizer, scheduler = build_optimizer(model.parameters(), config, total)
    state = dict(models={"model": model}, optimizers={"optimizer": optimizer}, schedulers={"scheduler": scheduler})

    resumed = load_state(out_dir, **state)
    if resumed:
        step, history, extra = resumed
    else:
        step, history = 0, []
        extra = {"eval_accuracy_initial": evaluate_reward(model, eval_rows, pad_id, config)["accuracy"]}

    while step < total:
        if should_stop is not None and should_stop():
            save_state(out_dir, step=step, history=history, extra=extra, **state)
            return StageResult(None, history[-1] if history else {}, history, stopped=True)
        started = time.perf_counter()
        epoch, i = divmod(step, per_epoch)
        index = epoch_order(len(train_rows), runtime.seed, epoch)[i * config.batch_size : (i + 1) * config.batch_size]
        rb = collate_rankings([train_rows[j] for j in index], pad_id)
        ranks, groups = rb.ranks.to(device), rb.groups.to(device)
        with autocast(runtime):
            rewards = sequence_scores(model, rb.batch.to(device))
        loss = kwise_reward_loss(rewards, ranks, groups)
        loss.backward()
        lr = scheduler.get_last_lr()[0]
        grad_norm = clip_and_step(model, optimizer, scheduler, config.max_grad_norm)
        correct, pairs = kwise_pair_accuracy(rewards.detach(), ranks, groups)
        step += 1
        metrics = {
            "step": step,
            "loss": float(loss.detach()),
            "accuracy": correct / max(pairs, 1),
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens_per_s": int(rb.batch.attention_mask.sum()) / (time.perf_counter() - started),
        }
        if config.eval_every and step % config.eval_every == 0 and step < total:
            ev = evaluate_reward(model, eval_rows, pad_id, config)
            metrics.update(eval_accuracy=ev["accuracy"], eval_loss=ev["loss"])
        history.append(metrics)
        if progress is not None:
            progress(step, total, metrics)
        if config.save_every and step % config.save_every == 0:
            save_state(out_dir, step=step, history=history, extra=extra, **state)

    ev = evaluate_reward(model, eval_rows, pad_id, config)
    final = {
        "train_loss": history[-1]["loss"] if history else float("nan"),
        "eval_accuracy": ev["accuracy"],
        "eval_loss": ev["loss"],
        "eval_accuracy_initial": extra["eval_accuracy_initial"],
        "steps": total,
    }
    save_state(out_dir, step=step, history=history, extra=extra, **state)
    checkpoint = write_checkpoint(
        model, tokenizer, out_dir, stage="reward", parent=parent, snapshot_id=snapshot_id, config=config, metrics=final
    )
    return StageResult(checkpoint, final, history)
