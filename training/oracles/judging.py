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


def noisy_ranking(oracle: Oracle, prompt: str, responses: Sequence[str], *, noise: float, rng: random.Random) -> list[list[int]]:
    """Indices of `responses` in groups, best group first, as a labeler who agrees with the
    oracle up to noise. A group of several is a tie.

    Responses the oracle scores the same are tied: identical texts, or different answers that
    are equally good (two wrong colours). A careful labeler has no preference between them, and
    ordering them at random would teach the reward model preferences nobody holds. The noise
    is Gaussian, std `noise`, on each distinct score before the groups are ordered, so answers
    of nearly equal quality can swap places (labelers disagree) while clearly better ones
    rarely do.
    """
    scores = [oracle.score(prompt, r) for r in responses]
    levels = sorted(set(scores), reverse=True)
    perceived = {level: level + rng.gauss(0.0, noise) if noise > 0 else level for level in levels}
    return [
        [i for i, s in enumerate(scores) if s == level]
        for level in sorted(levels, key=lambda level: -perceived[level])
    ]


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
