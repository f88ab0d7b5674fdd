"""Command line: `python -m training.ml {bootstrap,sample,score,meta,demo} ...`.

`demo` runs the whole chain (bootstrap -> SFT -> reward model -> PPO and DPO) on a synthetic
preference task with progress bars, in well under a minute on a CPU.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from training.ml.checkpoints import read_meta
from training.ml.config import DPOConfig, PPOConfig, RewardConfig, RuntimeConfig, SampleConfig, SFTConfig
from training.ml.data import Demonstration, RankedPrompt
from training.ml.models import bootstrap_tiny_model
from training.ml.sampling import generate
from training.ml.scoring import score


@contextmanager
def progress_bar(desc: str, keys: tuple[str, ...]):
    """A progress callback for the stages that draws a tqdm bar with a few metrics."""
    bar = tqdm(desc=desc, unit="step")

    def update(step: int, total: int, metrics: dict) -> None:
        bar.total = total
        bar.n = step
        bar.set_postfix({k: f"{metrics[k]:.3g}" for k in keys if k in metrics}, refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def synthetic_task(seed: int = 0):
    """Prompts, demonstrations and K-way rankings whose hidden preference is #good - #bad."""
    rng = random.Random(seed)
    words = ("good", "bad", "ok")
    topics = "cats dogs rain tea music books trains snow bread chess maps clocks boats stars rivers lamps".split()
    prompts = [f"tell me about {t}" for t in topics]

    def response() -> str:
        return " " + " ".join(rng.choice(words) for _ in range(4))

    def ranking() -> RankedPrompt:
        completions = tuple(response() for _ in range(4))
        scores = [c.split().count("good") - c.split().count("bad") for c in completions]
        return RankedPrompt(rng.choice(prompts), completions, tuple(1 + len({s for s in scores if s > m}) for m in scores))

    demos = [Demonstration(p, response()) for p in prompts for _ in range(6)]
    return prompts, demos, [ranking() for _ in range(160)], [ranking() for _ in range(40)]


def cmd_demo(args) -> None:
    out = Path(args.out_dir)
    runtime = RuntimeConfig(seed=args.seed)
    prompts, demos, rankings, held_out = synthetic_task(args.seed)
    base = bootstrap_tiny_model(out / "base", seed=args.seed, corpus=[d.prompt + d.response for d in demos], hidden_size=64)
    from training.ml.stages import train_dpo, train_ppo, train_reward_model, train_sft

    with progress_bar("sft", ("loss",)) as bar:
        sft = train_sft(SFTConfig(epochs=3, lr=3e-3, batch_size=8, max_length=64, runtime=runtime), demos, demos[:16],
                        parent=base, out_dir=out / "sft", snapshot_id="demo", progress=bar)
    with progress_bar("reward", ("loss", "accuracy")) as bar:
        rm = train_reward_model(RewardConfig(epochs=4, lr=1e-3, batch_size=8, max_length=64, runtime=runtime), rankings,
                                held_out, parent=sft.checkpoint, out_dir=out / "reward", snapshot_id="demo", progress=bar)
    with progress_bar("ppo", ("reward_mean", "kl")) as bar:
        ppo = train_ppo(PPOConfig(steps=15, rollout_batch_size=16, minibatch_size=8, ppo_epochs=2, lr=1e-3,
                                  max_new_tokens=8, runtime=runtime),
                        prompts, policy=sft.checkpoint, reward_model=rm.checkpoint, out_dir=out / "ppo",
                        snapshot_id="demo", progress=bar)
    with progress_bar("dpo", ("loss", "accuracy")) as bar:
        dpo = train_dpo(DPOConfig(epochs=1, lr=1e-3, batch_size=16, max_length=64, runtime=runtime), rankings, held_out,
                        parent=sft.checkpoint, out_dir=out / "dpo", snapshot_id="demo", progress=bar)
    print(json.dumps({
        "sft": sft.metrics, "reward": rm.metrics,
        "ppo": {k: ppo.metrics[k] for k in ("reward_mean_initial", "reward_mean", "kl")},
        "dpo": dpo.metrics,
    }, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.ml", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bootstrap", help="build the tiny offline model and tokenizer at PATH")
    p.add_argument("path")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus", help="a text file, one line per training sentence for the tokenizer")
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)

    p = sub.add_parser("sample", help="print K completions per prompt as JSON")
    p.add_argument("checkpoint")
    p.add_argument("prompts", nargs="+")
    for field, value in asdict(SampleConfig()).items():
        p.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)

    p = sub.add_parser("score", help="score one response per prompt with a reward model")
    p.add_argument("reward_model")
    p.add_argument("--prompt", action="append", required=True)
    p.add_argument("--response", action="append", required=True)

    p = sub.add_parser("meta", help="print a checkpoint's meta.json")
    p.add_argument("checkpoint")

    p = sub.add_parser("demo", help="run bootstrap -> SFT -> RM -> PPO and DPO on a synthetic task")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)

    args = parser.parse_args(argv)
    if args.command == "bootstrap":
        corpus = Path(args.corpus).read_text().splitlines() if args.corpus else None
        print(bootstrap_tiny_model(args.path, seed=args.seed, corpus=corpus, hidden_size=args.hidden_size, num_layers=args.layers))
    elif args.command == "sample":
        config = SampleConfig(**{f: getattr(args, f) for f in asdict(SampleConfig())})
        completions = generate(args.checkpoint, args.prompts, config)
        print(json.dumps({"settings": asdict(config), "completions": completions}, indent=2))
    elif args.command == "score":
        print(json.dumps(score(args.reward_model, args.prompt, args.response)))
    elif args.command == "meta":
        print(json.dumps(asdict(read_meta(args.checkpoint)), indent=2))
    elif args.command == "demo":
        cmd_demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
