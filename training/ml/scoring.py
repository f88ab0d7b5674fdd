"""Scoring (prompt, response) pairs with a trained reward model."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from training.ml.batching import collate, sequence_scores, tokenize_pair
from training.ml.config import RuntimeConfig
from training.ml.models import load_reward_model, load_tokenizer
from training.ml.stages.state import autocast


@torch.no_grad()
def score(
    reward_model: str | Path,
    prompts: Sequence[str],
    responses: Sequence[str],
    runtime: RuntimeConfig = RuntimeConfig(),
    *,
    batch_size: int = 16,
    max_length: int = 512,
) -> list[float]:
    """Reward-model score of each (prompt, response), exactly as training and PPO compute it."""
    if len(prompts) != len(responses):
        raise ValueError(f"score() needs one response per prompt; got {len(prompts)} prompts and {len(responses)} responses")
    tokenizer = load_tokenizer(reward_model)
    model = load_reward_model(reward_model, runtime)
    rows = [tokenize_pair(tokenizer, p, r, max_length) for p, r in zip(prompts, responses)]
    scores: list[float] = []
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        batch = collate([p for p, _ in chunk], [r for _, r in chunk], tokenizer.pad_token_id).to(runtime.torch_device())
        with autocast(runtime):
            scores.extend(sequence_scores(model, batch).tolist())
    return scores
