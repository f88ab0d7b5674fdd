"""Turning (prompt, response) token lists into batches, and the forward passes every stage shares.

One layout everywhere: prompts left-padded to a common width P, responses right-padded after
them, so response token j of every row sits in column P + j. Losses then work on dense
[batch, response_length] tensors with a mask, and a rollout's generated tokens line up with
the training forward without any gather.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from training.ml.models import format_prompt


@dataclass
class Batch:
    """input_ids/attention_mask/position_ids: [B, P + R]; response_mask: [B, R] (1 on real
    response tokens); prompt_width: P."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    response_mask: torch.Tensor
    prompt_width: int

    @property
    def responses(self) -> torch.Tensor:
        return self.input_ids[:, self.prompt_width :]

    def to(self, device: torch.device) -> "Batch":
        return Batch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.position_ids.to(device),
            self.response_mask.to(device),
            self.prompt_width,
        )

    def select(self, index: torch.Tensor | list[int]) -> "Batch":
        """Rows `index`, with columns that became all-padding trimmed away."""
        ids, attn, resp = self.input_ids[index], self.attention_mask[index], self.response_mask[index]
        left = int((attn[:, : self.prompt_width].sum(0) == 0).sum())
        right = int(resp.sum(0).nonzero().max()) + 1 if resp.any() else 0
        end = self.prompt_width + right
        return Batch(
            ids[:, left:end], attn[:, left:end], self.position_ids[index][:, left:end], resp[:, :right],
            self.prompt_width - left,
        )


def tokenize_pair(tokenizer, prompt: str, response: str, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids of the chat-formatted prompt and of the response followed by eos.

    The two parts are tokenized separately, exactly as generation sees them (prompt ids, then
    sampled ids). When too long, the response keeps up to max_length - min(prompt, max/2)
    tokens and the prompt keeps its last tokens.
    """
    p = tokenizer(format_prompt(tokenizer, prompt), add_special_tokens=False).input_ids
    r = tokenizer(response, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
    if len(p) + len(r) > max_length:
        r = r[: max_length - min(len(p), max_length // 2)]
        p = p[len(p) - (max_length - len(r)) :]
    return p, r


def tokenize_prompt(tokenizer, prompt: str, max_length: int) -> list[int]:
    """Token ids of the chat-formatted prompt, keeping its last `max_length` tokens."""
    return tokenizer(format_prompt(tokenizer, prompt), add_special_tokens=False).input_ids[-max_length:]


def collate(prompts: Sequence[list[int]], responses: Sequence[list[int]], pad_id: int) -> Batch:
    """Left-pad prompts and right-pad responses into one Batch (see the module docstring)."""
    width = max(len(p) for p in prompts)
    rlen = max(1, max(len(r) for r in responses))
    n = len(prompts)
    ids = torch.full((n, width + rlen), pad_id, dtype=torch.long)
    attn = torch.zeros((n, width + rlen), dtype=torch.long)
    resp = torch.zeros((n, rlen), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        ids[i, width - len(p) : width] = torch.tensor(p, dtype=torch.long)
        ids[i, width : width + len(r)] = torch.tensor(r, dtype=torch.long)
        attn[i, width - len(p) : width + len(r)] = 1
        resp[i, : len(r)] = 1
    # Padding positions get position 0; they are masked out of attention anyway.
    pos = (attn.cumsum(1) - 1).clamp(min=0)
    return Batch(ids, attn, pos, resp, width)


def response_logits(model, batch: Batch) -> torch.Tensor:
    """Logits predicting each response token: [B, R, V]."""
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids)
    return out.logits[:, batch.prompt_width - 1 : -1]


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log pi(token) under softmax(logits / temperature): [B, R]."""
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    return torch.gather(F.log_softmax(logits, dim=-1), 2, tokens.unsqueeze(-1)).squeeze(-1)


def response_logprobs(model, batch: Batch, temperature: float = 1.0) -> torch.Tensor:
    """Per-token log-probabilities of the batch's responses under `model`: [B, R]."""
    return token_logprobs(response_logits(model, batch), batch.responses, temperature)


def scalar_head_per_token(model, batch: Batch) -> torch.Tensor:
    """A sequence-classification model's scalar head applied at every position: [B, P + R].

    The reward model scores a sequence with its head at the last real token; the PPO value
    network is the same architecture read at every response position.
    """
    body = getattr(model, model.base_model_prefix)
    hidden = body(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids
    ).last_hidden_state
    return model.score(hidden).squeeze(-1).float()


def sequence_scores(model, batch: Batch) -> torch.Tensor:
    """Reward-model score of each (prompt, response): the head at the last real token: [B]."""
    values = scalar_head_per_token(model, batch)
    last = batch.prompt_width + batch.response_mask.sum(1) - 1
    return values.gather(1, last.unsqueeze(1)).squeeze(1)
