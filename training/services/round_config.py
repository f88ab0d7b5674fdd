"""A round's configuration: the demo defaults, validation of what admins send, and the
`training.ml` config objects built from it.

A round config is a JSON object; every key is optional and missing keys take the defaults
below, so ``{}`` is a complete config. Sections ``sft``, ``reward``, ``ppo``, ``dpo`` and
``sample`` take the fields of the matching `training.ml.config` dataclass (their meaning is
documented there, once); ``runtime`` takes RuntimeConfig's fields and applies to every stage.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from config.errors import ApplicationError
from training.ml.config import DPOConfig, PPOConfig, RewardConfig, RuntimeConfig, SampleConfig, SFTConfig

SECTIONS: dict[str, type] = {
    "sft": SFTConfig,
    "reward": RewardConfig,
    "ppo": PPOConfig,
    "dpo": DPOConfig,
    "sample": SampleConfig,
    "runtime": RuntimeConfig,
}

# Demo settings: a full round (SFT -> RM -> PPO -> sampling) on the tiny model takes well
# under 3 minutes on 2 CPU cores and measurably improves the shipped oracle's score (see
# "Simulated labelers" in the README). The learning rates are far above what a real model wants;
# a GPU deployment overrides them. Why these values, on the sky oracle's 20 questions:
# - SFT stops while the policy still samples a mix of right and wrong answers; trained to
#   memorisation it repeats one answer per prompt and the rankings say nothing.
# - Three ranking tasks per prompt: a reward model needs several rankings of fresh samples
#   per prompt before it prefers the right answer over a merely well-formed one.
# - The reward model learns slowly (small batches, low lr, several epochs); the policy moves
#   fast but on a short KL leash (beta 2), because with this little data every step past
#   what the reward model really knows is reward hacking. (With beta 1 the policy ran to a
#   KL of 2.2 nats and, on some seeds and CPUs, kept little of its gain on held-out prompts.)
DEFAULT_ROUND_CONFIG: dict[str, Any] = {
    # "ppo" (InstructGPT) or "dpo" (the lighter alternative).
    "algorithm": "ppo",
    # SFT runs when at least this many distinct train demonstrations are new since the last
    # SFT checkpoint; otherwise it is skipped and later stages continue from that checkpoint.
    "min_demonstrations": 4,
    # Fewer rankings (with at least one non-tied pair) than this and the RM, PPO and DPO are skipped.
    "min_rankings": 4,
    # Completions per held-out eval prompt generated from the round's final policy.
    "eval_samples_per_prompt": 16,
    # Ranking tasks (each of the project's K fresh samples) per train prompt after each round.
    "ranking_tasks_per_prompt": 3,
    "runtime": {"device": "auto", "dtype": "auto", "seed": 0},
    "sft": {"epochs": 30, "lr": 3e-3, "batch_size": 8, "max_length": 128, "save_every": 10},
    "reward": {"epochs": 10, "lr": 1e-4, "batch_size": 2, "max_length": 128, "save_every": 50},
    "ppo": {
        "steps": 60, "rollout_batch_size": 64, "minibatch_size": 16, "ppo_epochs": 4, "lr": 1e-3, "beta": 2.0,
        "max_new_tokens": 16, "max_prompt_length": 128, "save_every": 5,
    },
    "dpo": {"epochs": 2, "lr": 1e-4, "batch_size": 8, "max_length": 128, "save_every": 10},
    "sample": {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 16, "seed": 0, "batch_size": 16},
}

_SCALARS = {
    "algorithm": str, "min_demonstrations": int, "min_rankings": int, "eval_samples_per_prompt": int,
    "ranking_tasks_per_prompt": int,
}
# Scalars that must be at least 1 (the others at least 0).
_POSITIVE = ("min_demonstrations", "min_rankings", "ranking_tasks_per_prompt")


def _type_ok(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if default is None:  # optional numbers such as PPO's value_lr
        return value is None or isinstance(value, (int, float))
    return isinstance(value, type(default))


def round_config_validate(config: Any) -> dict[str, Any]:
    """The complete config (defaults merged in) for what an admin sent, or a 400 naming the field."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ApplicationError("config must be a JSON object.", details={"field": "config"})
    merged = copy.deepcopy(DEFAULT_ROUND_CONFIG)
    for key, value in config.items():
        field = f"config.{key}"
        if key in _SCALARS:
            if not isinstance(value, _SCALARS[key]) or isinstance(value, bool):
                raise ApplicationError(f"{field} must be a {_SCALARS[key].__name__}.", details={"field": field})
            merged[key] = value
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ApplicationError(f"{field} must be a JSON object.", details={"field": field})
            defaults = {f.name: f.default for f in dataclasses.fields(SECTIONS[key]) if f.name != "runtime"}
            for name, item in value.items():
                if name not in defaults:
                    raise ApplicationError(
                        f"{field}.{name} is not a setting of {key}; known: {', '.join(sorted(defaults))}.",
                        details={"field": f"{field}.{name}"},
                    )
                if not _type_ok(item, defaults[name]):
                    raise ApplicationError(f"{field}.{name} has the wrong type.", details={"field": f"{field}.{name}"})
            merged[key] = {**merged[key], **value}
        else:
            raise ApplicationError(
                f"{field} is not a round setting; known: {', '.join(sorted([*_SCALARS, *SECTIONS]))}.",
                details={"field": field},
            )
    if merged["algorithm"] not in ("ppo", "dpo"):
        raise ApplicationError("config.algorithm must be 'ppo' or 'dpo'.", details={"field": "config.algorithm"})
    for key in ("min_demonstrations", "min_rankings", "eval_samples_per_prompt", "ranking_tasks_per_prompt"):
        if merged[key] < (1 if key in _POSITIVE else 0):
            raise ApplicationError(f"config.{key} is too small.", details={"field": f"config.{key}"})
    try:
        for key in SECTIONS:
            stage_config(merged, key)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(f"config is not valid: {exc}", details={"field": "config"}) from exc
    return merged


def stage_config(config: dict[str, Any], section: str, **overrides: Any):
    """The `training.ml` config object of one section of a validated round config."""
    runtime = RuntimeConfig(**config["runtime"])
    if section == "runtime":
        return runtime
    cls = SECTIONS[section]
    values = {**config[section], **overrides}
    if any(f.name == "runtime" for f in dataclasses.fields(cls)):
        values["runtime"] = runtime
    return cls(**values)
