"""Supervised fine-tuning on demonstrations, loss on the response tokens only.

Our own loop rather than trl's SFTTrainer: the same resumable state, progress and stop signal
as the other stages, and no trainer overhead on small models.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import torch

from training.ml.batching import collate, response_logprobs, tokenize_pair
from training.ml.config import SFTConfig
from training.ml.data import Demonstration
from training.ml.losses import sft_loss
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


@torch.no_grad()
def evaluate_sft(model, rows: list[tuple[list[int], list[int]]], pad_id: int, config: SFTConfig) -> float:
    """Token-weighted mean response NLL over `rows` (nan when empty)."""
    if not rows:
        return float("nan")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, tokens = 0.0, 0
    for i in range(0, len(rows), config.batch_size):
        chunk = rows[i : i + config.batch_size]
        batch = collate([p for p, _ in chunk], [r for _, r in chunk], pad_id).to(device)
        with autocast(config.runtime):
            logprobs = response_logprobs(model, batch)
        total -= float((logprobs * batch.response_mask).sum())
        tokens += int(batch.response_mask.sum())
    model.train(was_training)
    return total / max(tokens, 1)


def train_sft(
    config: SFTConfig,
    train: Sequence[Demonstration],
    eval: Sequence[Demonstration],
    *,
    parent: str | Path,
    out_dir: str | Path,
    snapshot_id: str | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> StageResult:
    """Fine-tune `parent` on demonstrations; writes the checkpoint to `out_dir`.

    Per-step metrics: loss, lr, grad_norm, tokens_per_s, and eval_loss every `eval_every`
    steps. Final metrics: train_loss (last step), eval_loss, eval_loss_initial.
    Calling again with the same out_dir resumes from out_dir/state.
    """
    out_dir = Path(out_dir)
    runtime = config.runtime
    device = runtime.torch_device()
    seed_everything(runtime.seed)
    tokenizer = load_tokenizer(parent)
    model = load_causal_lm(parent, runtime, trainable=True)
    pad_id = tokenizer.pad_token_id
    train_rows = [tokenize_pair(tokenizer, d.prompt, d.response, config.max_length) for d in train]
    eval_rows = [tokenize_pair(tokenizer, d.prompt, d.response, config.max_length) for d in eval]
    per_epoch = steps_per_epoch(len(train_rows), config.batch_size)
    total = config.epochs * per_epoch
    optimizer, scheduler = build_optimizer(model.parameters(), config, total)
    state = dict(models={"model": model}, optimizers={"optimizer": optimizer}, schedulers={"scheduler": scheduler})

    resumed = load_state(out_dir, **state)
    if resumed:
        step, history, extra = resumed
    else:
        step, history = 0, []
        extra = {"eval_loss_initial": evaluate_sft(model, eval_rows, pad_id, config)}

    while step < total:
        if should_stop is not None and should_stop():
            save_state(out_dir, step=step, history=history, extra=extra, **state)
            return StageResult(None, history[-1] if history else {}, history, stopped=True)
        started = time.perf_counter()
        epoch, i = divmod(step, per_epoch)
        index = epoch_order(len(train_rows), runtime.seed, epoch)[i * config.batch_size : (i + 1) * config.batch_size]
        batch = collate([train_rows[j][0] for j in index], [train_rows[j][1] for j in index], pad_id).to(device)
        with autocast(runtime):
            loss = sft_loss(response_logprobs(model, batch), batch.response_mask)
        loss.backward()
        lr = scheduler.get_last_lr()[0]
        grad_norm = clip_and_step(model, optimizer, scheduler, config.max_grad_norm)
        step += 1
        metrics = {
            "step": step,
            "loss": float(loss.detach()),
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens_per_s": int(batch.attention_mask.sum()) / (time.perf_counter() - started),
        }
        if config.eval_every and step % config.eval_every == 0 and step < total:
            metrics["eval_loss"] = evaluate_sft(model, eval_rows, pad_id, config)
        history.append(metrics)
        if progress is not None:
            progress(step, total, metrics)
        if config.save_every and step % config.save_every == 0:
            save_state(out_dir, step=step, history=history, extra=extra, **state)

    final = {
        "train_loss": history[-1]["loss"] if history else float("nan"),
        "eval_loss": evaluate_sft(model, eval_rows, pad_id, config),
        "eval_loss_initial": extra["eval_loss_initial"],
        "steps": total,
    }
    save_state(out_dir, step=step, history=history, extra=extra, **state)
    checkpoint = write_checkpoint(
        model, tokenizer, out_dir, stage="sft", parent=parent, snapshot_id=snapshot_id, config=config, metrics=final
    )
    return StageResult(checkpoint, final, history)
