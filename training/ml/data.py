"""The data the stages consume: plain frozen dataclasses, no database objects."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Demonstration:
    """A prompt and the response a labeler wrote for it (SFT data)."""

    prompt: str
    response: str


@dataclass(frozen=True)
class RankedPrompt:
    """A prompt with K completions and their ranks.

    ranks[i] is the rank of completions[i]: 1 is best, equal numbers are ties.
    """

    prompt: str
    completions: tuple[str, ...]
    ranks: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.completions) != len(self.ranks):
            raise ValueError(
                f"RankedPrompt needs one rank per completion; got {len(self.completions)} completions "
                f"and {len(self.ranks)} ranks"
            )
        if len(self.completions) < 2:
            raise ValueError("RankedPrompt needs at least two completions to say anything about preference")
        if any(r < 1 for r in self.ranks):
            raise ValueError(f"ranks start at 1 (best); got {self.ranks}")


def preference_pairs(r: RankedPrompt) -> list[tuple[str, str]]:
    """All (chosen, rejected) pairs of a ranking: C(K,2) without ties, and without pairs of
    identical texts (a model often samples the same answer twice; whatever order a labeler put
    the copies in, a text cannot be preferred to itself)."""
    pairs = []
    for i, j in combinations(range(len(r.completions)), 2):
        if r.completions[i] == r.completions[j]:
            continue
        if r.ranks[i] < r.ranks[j]:
            pairs.append((r.completions[i], r.completions[j]))
        elif r.ranks[j] < r.ranks[i]:
            pairs.append((r.completions[j], r.completions[i]))
    return pairs


def distinct_completions(r: RankedPrompt) -> RankedPrompt | None:
    """The ranking with each distinct completion once, at the best rank it was given (None when
    fewer than two distinct completions remain). Copies of one text say nothing about
    preference, and the K-wise reward loss would otherwise compare a text with itself."""
    best: dict[str, int] = {}
    for completion, rank in zip(r.completions, r.ranks):
        best[completion] = min(rank, best.get(completion, rank))
    if len(best) < 2:
        return None
    return RankedPrompt(r.prompt, tuple(best), tuple(best.values()))
