"""Fixtures for training.ml: a tiny model and a synthetic preference task, built once per session.

The task: prompts "tell me about <topic>", responses of four words from {good, bad, ok}; the
hidden preference is (#good - #bad), so a reward model can learn it and PPO/DPO can be seen to
follow it. Nothing here touches a database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import torch

from training.ml.config import RewardConfig, RuntimeConfig, SFTConfig
from training.ml.data import Demonstration, RankedPrompt
from training.ml.models import bootstrap_tiny_model
from training.ml.stages import train_reward_model, train_sft

CPU = RuntimeConfig(device="cpu", dtype="float32", seed=0)
WORDS = ("good", "bad", "ok")
TOPICS = (
    "cats dogs rain tea music books trains snow bread chess maps clocks boats stars rivers lamps "
    "bees hills ships coins"
).split()
NAMES = "alice bob carol dave erin frank grace heidi ivan judy mallory oscar".split()
COLORS = "red green blue black white pink gray brown orange purple yellow cyan".split()


def preference(text: str) -> int:
    """The hidden rule the labelers of the synthetic task follow."""
    words = text.split()
    return words.count("good") - words.count("bad")


@dataclass(frozen=True)
class Task:
    prompts: list[str]
    eval_prompts: list[str]
    demos: list[Demonstration]
    rankings_train: list[RankedPrompt]
    rankings_eval: list[RankedPrompt]
    memorize: list[Demonstration]  # one fixed answer per prompt, for SFT recall
    memorize_eval: list[Demonstration]


def _ranking(rng: random.Random, prompt: str, k: int) -> RankedPrompt:
    completions = tuple(" " + " ".join(rng.choice(WORDS) for _ in range(4)) for _ in range(k))
    scores = [preference(c) for c in completions]
    # Dense ranks, 1 = best; equal scores give equal ranks (ties).
    ranks = tuple(1 + len({s for s in scores if s > mine}) for mine in scores)
    return RankedPrompt(prompt, completions, ranks)


@pytest.fixture(scope="session")
def task() -> Task:
    rng = random.Random(0)
    prompts = [f"tell me about {t}" for t in TOPICS[:16]]
    eval_prompts = [f"tell me about {t}" for t in TOPICS[16:]]
    demos = [Demonstration(p, " " + " ".join(rng.choice(WORDS) for _ in range(4))) for p in prompts for _ in range(6)]
    train = [_ranking(rng, rng.choice(prompts), rng.choice((3, 4, 5))) for _ in range(160)]
    held_out = [_ranking(rng, rng.choice(prompts + eval_prompts), 4) for _ in range(40)]
    memorize = [Demonstration(f"favorite color of {n}?", f" {c}") for n, c in zip(NAMES[:10], COLORS)]
    # Unseen names with colours seen in training: the format and the colour set are learnable.
    memorize_eval = [Demonstration(f"favorite color of {n}?", f" {c}") for n, c in zip(NAMES[10:], COLORS)]
    return Task(prompts, eval_prompts, demos, train, held_out, memorize, memorize_eval)


@pytest.fixture(scope="session")
def cpu() -> RuntimeConfig:
    """Tests run on CPU in float32 whatever the machine has, so thresholds mean the same."""
    return CPU


@pytest.fixture(scope="session", autouse=True)
def _two_threads():
    # The CI machine has two cores; more threads only add contention on tiny matrices.
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, task):
    corpus = [d.prompt + d.response for d in task.demos + task.memorize + task.memorize_eval]
    return bootstrap_tiny_model(tmp_path_factory.mktemp("tiny") / "base", seed=0, corpus=corpus, hidden_size=64)


@pytest.fixture(scope="session")
def words_sft(tmp_path_factory, tiny_base, task):
    """The policy of the synthetic RLHF chain: SFT on random word responses (high entropy)."""
    config = SFTConfig(epochs=3, lr=3e-3, batch_size=8, max_length=64, save_every=0, runtime=CPU)
    return train_sft(
        config, task.demos, task.demos[:16], parent=tiny_base, out_dir=tmp_path_factory.mktemp("sft") / "words",
        snapshot_id="words-v1",
    )


@pytest.fixture(scope="session")
def reward_result(tmp_path_factory, words_sft, task):
    config = RewardConfig(epochs=4, lr=1e-3, batch_size=8, max_length=64, eval_every=20, save_every=0, runtime=CPU)
    return train_reward_model(
        config, task.rankings_train, task.rankings_eval, parent=words_sft.checkpoint,
        out_dir=tmp_path_factory.mktemp("rm") / "rm", snapshot_id="rankings-v1",
    )
