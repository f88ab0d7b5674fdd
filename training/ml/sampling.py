"""Sampling K completions per prompt from any causal-LM checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from training.ml.batching import tokenize_prompt
from training.ml.config import RuntimeConfig, SampleConfig
from training.ml.models import load_causal_lm, load_tokenizer


def left_pad(prompts: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded input_ids and attention_mask for generate()."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p) :] = 1
    return ids, mask


def cut_at_eos(tokens: list[int], eos_id: int, pad_id: int) -> list[int]:
    """Generated ids up to and including the first eos, padding dropped."""
    out = []
    for t in tokens:
        if t == pad_id:
            break
        out.append(t)
        if t == eos_id:
            break
    return out


@torch.no_grad()
def sample_token_ids(
    model,
    prompts: Sequence[list[int]],
    *,
    eos_id: int,
    pad_id: int,
    k: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
) -> list[list[int]]:
    """One generate() call: k responses per prompt, as token lists ending at eos (if reached),
    ordered prompt by prompt. Uses the global torch RNG, so callers control reproducibility."""
    device = next(model.parameters()).device
    ids, mask = left_pad(prompts, pad_id)
    greedy = temperature == 0
    out = model.generate(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        do_sample=not greedy,
        temperature=None if greedy else temperature,
        top_p=None if greedy else top_p,
        top_k=None,
        max_new_tokens=max_new_tokens,
        num_return_sequences=k,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
    )
    return [cut_at_eos(row, eos_id, pad_id) for row in out[:, ids.shape[1] :].tolist()]


def generate(
    checkpoint: str | Path,
    prompts: Sequence[str],
    config: SampleConfig = SampleConfig(),
    runtime: RuntimeConfig = RuntimeConfig(),
    *,
    max_prompt_length: int = 512,
) -> list[list[str]]:
    """k completions for each prompt (a list of k strings per prompt, in prompt order).

    Batched by `config.batch_size` prompts; the same seed, prompts, checkpoint and batch size
    give the same text. The settings used are `dataclasses.asdict(config)`.
    """
    tokenizer = load_tokenizer(checkpoint)
    model = load_causal_lm(checkpoint, runtime)
    generator_state = torch.get_rng_state()
    torch.manual_seed(config.seed)
    results: list[list[str]] = []
    try:
        for start in range(0, len(prompts), config.batch_size):
            chunk = [tokenize_prompt(tokenizer, p, max_prompt_length) for p in prompts[start : start + config.batch_size]]
            responses = sample_token_ids(
                model,
                chunk,
                eos_id=tokenizer.eos_token_id,
                pad_id=tokenizer.pad_token_id,
                k=config.k,
                temperature=config.temperature,
                top_p=config.top_p,
                max_new_tokens=config.max_new_tokens,
            )
            texts = tokenizer.batch_decode(responses, skip_special_tokens=True)
            results.extend(texts[i : i + config.k] for i in range(0, len(texts), config.k))
    finally:
        # Sampling for labelers must not disturb the RNG of a caller that is training.
        torch.set_rng_state(generator_state)
    return results
