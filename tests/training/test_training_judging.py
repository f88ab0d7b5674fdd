"""Simulated labelers rank like careful people: ties where they have no preference, and noise
that swaps answers of nearly equal quality but rarely clearly different ones."""

import random

from training.oracles.judging import noisy_ranking
from training.oracles.sky import oracle

SKY = "What color is the sky?"


def test_equal_answers_are_tied_and_better_ones_come_first():
    responses = ["Blue", "Brown", "Blue", "Blue it is", "", "Green"]
    groups = noisy_ranking(oracle, SKY, responses, noise=0.0, rng=random.Random(0))
    assert groups == [[0, 2], [3], [1, 5], [4]]


def test_noise_swaps_close_answers_only():
    rng = random.Random(0)
    responses = ["Blue", "Blue it is", "Brown"]  # scores 1.0, 0.8, 0.0
    close = far = 0
    for _ in range(2000):
        groups = noisy_ranking(oracle, SKY, responses, noise=0.1, rng=rng)
        assert sorted(i for g in groups for i in g) == [0, 1, 2] and all(len(g) == 1 for g in groups)
        order = [g[0] for g in groups]
        close += order.index(1) < order.index(0)
        far += order.index(2) < order.index(0)
    assert 0.03 < close / 2000 < 0.3, close  # P(N(0, 0.1 * sqrt 2) > 0.2) is about 0.08
    assert far == 0
