"""What simulated labelers and the loop's measurements share: ranking by an oracle with
noise, and comparing two policies' held-out completions as the oracle judges them."""

from __future__ import annotations

import random
from typing import Protocol, Sequence


class Oracle(Protocol):
    def train_prompts(self) -> list[str]: ...
    def eval_prompts(self) -> list[str]: ...
    def ideal(self, prompt: str) -> str: ...
    def score(self, prompt: str, response: str) -> float: ...


def noisy_order(oracle: Oracle, prompt: str, responses: Sequence[str], *, noise: float, rng: random.Random) -> list[int]:
    """Indices of `responses`, best first, as a labeler who agrees with the oracle up to noise:
    each score is perturbed by Gaussian noise of std `noise` before sorting."""
    noisy = [oracle.score(prompt, r) + rng.gauss(0.0, noise) if noise > 0 else oracle.score(prompt, r) for r in responses]
    return sorted(range(len(responses)), key=lambda i: -noisy[i])


def mean_score(oracle: Oracle, eval_samples: Sequence[dict]) -> float | None:
    """The oracle's mean score of [{"prompt", "completions"}] (a checkpoint's eval_samples)."""
    scores = [oracle.score(row["prompt"], c) for row in eval_samples for c in row["completions"]]
    return sum(scores) / len(scores) if scores else None


def win_rate(oracle: Oracle, policy: Sequence[dict], baseline: Sequence[dict]) -> float | None:
    """How often the oracle prefers the policy's completion to the baseline's for the same
    held-out prompt and sample index; ties count half (InstructGPT's Figure 1, oracle-judged)."""
    base = {row["prompt"]: row["completions"] for row in baseline}
    outcomes = []
    for row in policy:
        for mine, theirs in zip(row["completions"], base.get(row["prompt"], [])):
            a, b = oracle.score(row["prompt"], mine), oracle.score(row["prompt"], theirs)
            outcomes.append(1.0 if a > b else 0.5 if a == b else 0.0)
    return sum(outcomes) / len(outcomes) if outcomes else None
