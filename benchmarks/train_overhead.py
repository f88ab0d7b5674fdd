"""Overhead of our SFT and PPO update steps over a plain torch loop on the same model and batch.

overhead = (plain loop tokens/s) / (our tokens/s); 1.0 means no overhead, the aim is <= 1.1.
SFT: `train_sft` itself (timed between progress callbacks, so everything the stage does per
step counts) against forward + masked cross-entropy + backward + AdamW. PPO: our `ppo_update`
on one fixed rollout against the same two forwards/backwards written inline.

Run from the repository root: .venv/bin/python -m benchmarks.train_overhead
(last line: overhead_sft=... overhead_ppo=...)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from training.ml.batching import collate, tokenize_pair, tokenize_prompt
from training.ml.config import PPOConfig, RuntimeConfig, SFTConfig
from training.ml.data import Demonstration
from training.ml.models import bootstrap_tiny_model, count_parameters, load_causal_lm, load_reward_model, load_tokenizer
from training.ml.stages import train_sft
from training.ml.stages.ppo import make_rollout, ppo_update
from training.ml.stages.state import build_optimizer

RUNTIME = RuntimeConfig(device="cpu", dtype="float32")
WORDS = "the a cat dog sat ran on under mat tree quickly slowly red blue".split()
STEPS, WARMUP, ROUNDS = 8, 2, 3


def plain_sft(model, batch, steps: int) -> list[float]:
    """The baseline: nothing but forward, response-masked cross-entropy, backward, AdamW."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids).logits
        logits = logits[:, batch.prompt_width - 1 : -1]
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.responses.reshape(-1), reduction="none")
        loss = (nll * batch.response_mask.reshape(-1)).sum() / batch.response_mask.sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return times


def plain_ppo(policy, value_model, rollout, config: PPOConfig, steps: int) -> list[float]:
    """The baseline PPO update: the same forwards, losses and two AdamW steps, nothing else."""
    p_opt = torch.optim.AdamW(policy.parameters(), lr=config.lr)
    v_opt = torch.optim.AdamW(value_model.parameters(), lr=config.lr)
    b = rollout.batch
    mask = b.response_mask.float()
    body = getattr(value_model, value_model.base_model_prefix)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        logits = policy(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids).logits
        logp = torch.gather(logits[:, b.prompt_width - 1 : -1].log_softmax(-1), 2, b.responses.unsqueeze(-1)).squeeze(-1)
        ratio = (logp - rollout.old_logprobs).exp()
        obj = torch.minimum(ratio * rollout.advantages, ratio.clamp(0.8, 1.2) * rollout.advantages)
        (-(obj * mask).sum() / mask.sum()).backward()
        p_opt.step()
        p_opt.zero_grad(set_to_none=True)
        hidden = body(input_ids=b.input_ids, attention_mask=b.attention_mask, position_ids=b.position_ids).last_hidden_state
        values = value_model.score(hidden).squeeze(-1)[:, b.prompt_width - 1 : -1]
        (0.5 * (((values - rollout.returns) ** 2) * mask).sum() / mask.sum()).backward()
        v_opt.step()
        v_opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads; 1 gives steadier figures on a machine shared with other jobs")
    torch.set_num_threads(parser.parse_args().threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    demos = [
        Demonstration(" ".join(rng.choice(WORDS) for _ in range(12)), " " + " ".join(rng.choice(WORDS) for _ in range(24)))
        for _ in range(8)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = bootstrap_tiny_model(Path(tmp) / "base", hidden_size=256, num_layers=4, corpus=WORDS)
        tokenizer = load_tokenizer(path)
        model = load_causal_lm(path, RUNTIME, trainable=True)
        print(f"model: {count_parameters(model) / 1e6:.1f}M parameters, threads={torch.get_num_threads()}")

        # SFT: one batch of all 8 demonstrations per step, so every step sees the same tokens.
        rows = [tokenize_pair(tokenizer, d.prompt, d.response, 256) for d in demos]
        batch = collate([p for p, _ in rows], [r for _, r in rows], tokenizer.pad_token_id)
        tokens = int(batch.attention_mask.sum())
        config = SFTConfig(epochs=STEPS, lr=1e-5, batch_size=len(demos), max_length=256, save_every=0, runtime=RUNTIME)
        ours_times, plain_times = [], []
        # Alternating rounds, so a change in machine load hits both sides alike.
        for r in range(ROUNDS):
            stamps = [time.perf_counter()]
            train_sft(config, demos, [], parent=path, out_dir=Path(tmp) / f"sft{r}",
                      progress=lambda s, t, m: stamps.append(time.perf_counter()))
            ours_times += [b - a for a, b in zip(stamps[WARMUP:], stamps[WARMUP + 1 :])]
            plain_times += plain_sft(model, batch, STEPS)[WARMUP:]
        ours, plain = statistics.median(ours_times), statistics.median(plain_times)
        overhead_sft = ours / plain
        print(f"sft: {tokens} tokens/step; ours {tokens / ours:.0f} tok/s, plain {tokens / plain:.0f} tok/s")

        # PPO: one rollout of 8 prompts x 32 new tokens, then full-batch updates on it.
        ppo = PPOConfig(rollout_batch_size=8, minibatch_size=8, max_new_tokens=32, lr=1e-6, max_grad_norm=1.0, runtime=RUNTIME)
        policy = load_causal_lm(path, RUNTIME, trainable=True)
        ref = load_causal_lm(path, RUNTIME)
        value_model = load_reward_model(path, RUNTIME, trainable=True)
        rm = load_reward_model(path, RUNTIME)
        prompts = [tokenize_prompt(tokenizer, d.prompt, 64) for d in demos]
        rollout = make_rollout(policy, ref, value_model, rm, prompts, tokenizer, ppo, ppo.beta)
        ppo_tokens = int(rollout.batch.attention_mask.sum())
        p_opt, p_sched = build_optimizer(policy.parameters(), ppo, 10**6)
        v_opt, v_sched = build_optimizer(value_model.parameters(), ppo, 10**6)
        ours_times, plain_times = [], []
        for _ in range(ROUNDS):
            for i in range(STEPS):
                started = time.perf_counter()
                ppo_update(policy, value_model, p_opt, v_opt, p_sched, v_sched, rollout, ppo)
                if i >= WARMUP:
                    ours_times.append(time.perf_counter() - started)
            plain_times += plain_ppo(policy, value_model, rollout, ppo, STEPS)[WARMUP:]
        ours_ppo, plain_ppo_t = statistics.median(ours_times), statistics.median(plain_times)
        overhead_ppo = ours_ppo / plain_ppo_t
        print(f"ppo update: {ppo_tokens} tokens/step; ours {ppo_tokens / ours_ppo:.0f} tok/s, plain {ppo_tokens / plain_ppo_t:.0f} tok/s")
    print(f"overhead_sft={overhead_sft:.3f} overhead_ppo={overhead_ppo:.3f}")


if __name__ == "__main__":
    main()
