"""K-way reward-model step vs the same rankings expanded into C(K,2) independent pairs.

InstructGPT forwards each of the K completions of a prompt once and puts all C(K,2) pairs in
one loss; a pairwise trainer forwards both sides of every pair, i.e. K(K-1) forwards per
prompt. Same model (>= 20M parameters), same rankings, same process, same optimiser step;
the two losses are printed to show they are the same quantity.

Run from the repository root: .venv/bin/python -m benchmarks.reward_kwise    (last line: speedup_k4=... speedup_k9=...)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from itertools import combinations

import torch

from training.ml.batching import collate, sequence_scores, tokenize_pair
from training.ml.config import RuntimeConfig
from training.ml.data import RankedPrompt, preference_pairs
from training.ml.losses import kwise_reward_loss, pairwise_reward_loss
from training.ml.models import bootstrap_tiny_model, count_parameters, load_reward_model, load_tokenizer
from training.ml.stages.reward import collate_rankings, tokenize_ranking

WORDS = "good bad ok fine nice poor great awful plain solid".split()
RUNTIME = RuntimeConfig(device="cpu", dtype="float32")
REPEATS = 5


def rankings(k: int, n: int, rng: random.Random) -> list[RankedPrompt]:
    out = []
    for i in range(n):
        completions = tuple(" " + " ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(k))
        out.append(RankedPrompt(f"rate item {i}", completions, tuple(rng.sample(range(1, k + 1), k))))
    return out


def kwise_step(model, optimizer, tokenizer, batch: list[RankedPrompt]) -> float:
    rb = collate_rankings([tokenize_ranking(tokenizer, r, 128) for r in batch], tokenizer.pad_token_id)
    loss = kwise_reward_loss(sequence_scores(model, rb.batch), rb.ranks, rb.groups)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def pairwise_step(model, optimizer, tokenizer, batch: list[RankedPrompt]) -> float:
    rows = []
    for r in batch:
        for chosen, rejected in preference_pairs(r):
            rows.append((tokenize_pair(tokenizer, r.prompt, chosen, 128), tokenize_pair(tokenizer, r.prompt, rejected, 128)))
    n = len(rows)
    seqs = [c for c, _ in rows] + [j for _, j in rows]
    scores = sequence_scores(model, collate([p for p, _ in seqs], [r for _, r in seqs], tokenizer.pad_token_id))
    loss = pairwise_reward_loss(scores[:n], scores[n:])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def timed(step, *args) -> tuple[float, float]:
    started = time.perf_counter()
    loss = step(*args)
    return time.perf_counter() - started, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads; 1 gives steadier figures on a machine shared with other jobs")
    torch.set_num_threads(parser.parse_args().threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = bootstrap_tiny_model(tmp, hidden_size=512, num_layers=5, num_heads=8, corpus=WORDS)
        tokenizer = load_tokenizer(path)
        model = load_reward_model(path, RUNTIME, trainable=True)
    print(f"model: {count_parameters(model) / 1e6:.1f}M parameters, threads={torch.get_num_threads()}")
    # lr 0 keeps the weights fixed so both variants see the same model at every repeat.
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0)
    figures = {}
    for k in (4, 9):
        batch = rankings(k, 1, rng)
        kwise_step(model, optimizer, tokenizer, batch)  # warm-up
        pairwise_step(model, optimizer, tokenizer, batch)
        kw, pw = [], []
        for _ in range(REPEATS):  # interleaved, so drift in machine load hits both alike
            kw.append(timed(kwise_step, model, optimizer, tokenizer, batch))
            pw.append(timed(pairwise_step, model, optimizer, tokenizer, batch))
        t_kw, t_pw = statistics.median(t for t, _ in kw), statistics.median(t for t, _ in pw)
        figures[k] = t_pw / t_kw
        print(
            f"K={k}: forwards per prompt kwise={k} pairwise={2 * len(list(combinations(range(k), 2)))}; "
            f"step kwise={t_kw * 1000:.0f} ms pairwise={t_pw * 1000:.0f} ms; "
            f"loss kwise={kw[0][1]:.6f} pairwise={pw[0][1]:.6f}; expected speedup ~{k - 1}x"
        )
    print(f"speedup_k4={figures[4]:.2f} speedup_k9={figures[9]:.2f}")


if __name__ == "__main__":
    main()
