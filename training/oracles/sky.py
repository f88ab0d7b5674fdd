"""Simple questions with known one-word answers ("What color is the sky?" -> "Blue").

The held-out eval prompts rephrase the training questions, so a policy can only do well on
them by answering the underlying question, not by recalling a string. The score prefers the
right answer said briefly: labelers in the lecture's example want "Blue", not an essay.
"""

from __future__ import annotations

import re

# (training question, rephrased held-out question, answer)
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("What color is the sky?", "Which color does the sky have?", "Blue"),
    ("What color is grass?", "Which color does grass have?", "Green"),
    ("What color is snow?", "Which color does snow have?", "White"),
    ("What color is coal?", "Which color does coal have?", "Black"),
    ("What color is a banana?", "Which color does a banana have?", "Yellow"),
    ("What color is blood?", "Which color does blood have?", "Red"),
    ("What color is an orange?", "Which color does an orange have?", "Orange"),
    ("What color is chocolate?", "Which color does chocolate have?", "Brown"),
    ("What is two plus two?", "How much is two plus two?", "Four"),
    ("What is one plus one?", "How much is one plus one?", "Two"),
    ("What is two plus one?", "How much is two plus one?", "Three"),
    ("What is three plus two?", "How much is three plus two?", "Five"),
    ("What animal says meow?", "Which animal says meow?", "Cat"),
    ("What animal says woof?", "Which animal says woof?", "Dog"),
    ("What animal says moo?", "Which animal says moo?", "Cow"),
    ("What animal says quack?", "Which animal says quack?", "Duck"),
    ("Is fire hot or cold?", "Is fire cold or hot?", "Hot"),
    ("Is ice hot or cold?", "Is ice cold or hot?", "Cold"),
    ("Is the sun big or small?", "Is the sun small or big?", "Big"),
    ("Is an ant big or small?", "Is an ant small or big?", "Small"),
)

_WORD = re.compile(r"[a-z0-9]+")


class SkyOracle:
    """Short factual questions. ``score`` is 1 for the right answer alone, less for extra
    words, and 0 or below for a wrong or empty answer: in [-0.5, 1]."""

    def __init__(self, questions: tuple[tuple[str, str, str], ...] = QUESTIONS):
        self._answers = {}
        for train, held_out, answer in questions:
            self._answers[train] = answer
            self._answers[held_out] = answer
        self._train = [q[0] for q in questions]
        self._eval = [q[1] for q in questions]

    def train_prompts(self) -> list[str]:
        """The prompts labelers see."""
        return list(self._train)

    def eval_prompts(self) -> list[str]:
        """Held-out prompts, used only to measure policies."""
        return list(self._eval)

    def ideal(self, prompt: str) -> str:
        """What a good labeler writes: the answer, one word."""
        return self._answer(prompt)

    def score(self, prompt: str, response: str) -> float:
        """How much a good labeler likes ``response``; higher is better."""
        answer = self._answer(prompt).lower()
        words = _WORD.findall(response.lower())
        if not words:
            return -0.5
        extra = min(0.5, 0.1 * (len(words) - 1))
        return (1.0 if answer in words else 0.0) - extra

    def _answer(self, prompt: str) -> str:
        try:
            return self._answers[prompt.strip()]
        except KeyError:
            raise KeyError(f"The sky oracle has no answer for {prompt!r}; it only knows its own prompts.") from None


oracle = SkyOracle()
