"""Configuration of every stage, as frozen dataclasses.

Each default is documented once, here. Callers (the Django orchestrator, the CLI, tests) build
these objects and pass them in; nothing in `training.ml` reads settings or the environment for
hyperparameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# torch is imported where a device or dtype is resolved, not here: the web app and the export
# jobs import these configs (to validate a round's settings) and never need torch's ~200 MB.


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and in which precision a stage runs.

    device: "auto" picks CUDA when available, else CPU; or any torch device string.
    dtype: "auto" picks bfloat16 on CUDA and float32 on CPU (bf16 autocast on CPU is ~6x
        slower); or "float32" / "bfloat16" / "float16". Trainable weights always stay in
        float32 and the forward pass runs under autocast in this dtype; frozen models
        (reference, sampling, scoring) are loaded directly in it.
    seed: seeds data order, sampling and initialisation of new heads.
    """

    device: str = "auto"
    dtype: str = "auto"
    seed: int = 0

    def torch_device(self) -> torch.device:
        """The resolved torch device."""
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def torch_dtype(self) -> torch.dtype:
        """The resolved compute dtype."""
        import torch

        if self.dtype == "auto":
            return torch.bfloat16 if self.torch_device().type == "cuda" else torch.float32
        try:
            return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[self.dtype]
        except KeyError:
            raise ValueError(f"dtype must be 'auto', 'float32', 'bfloat16' or 'float16', not {self.dtype!r}") from None


@dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """Optimiser and bookkeeping shared by every trainable stage.

    lr: peak AdamW learning rate, reached after `warmup_steps` and decayed linearly to 0.
    weight_decay: AdamW decoupled weight decay.
    warmup_steps: linear warm-up length in optimiser steps.
    max_grad_norm: global gradient-norm clip; 0 disables clipping.
    eval_every: evaluate on the eval split every this many steps (0: only at the end).
    save_every: write the resumable state every this many steps (0: only when stopped or done).
    runtime: device, dtype and seed.

    Stage configs are keyword-only: their fields are inherited, so positional order would
    not read as the field list suggests.
    """

    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    eval_every: int = 0
    save_every: int = 50
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)


@dataclass(frozen=True, kw_only=True)
class SFTConfig(OptimConfig):
    """Supervised fine-tuning on demonstrations; loss on response tokens only.

    epochs: passes over the training demonstrations.
    batch_size: demonstrations per optimiser step.
    max_length: prompt + response tokens kept; the response is kept first, the prompt keeps
        its last tokens.
    """

    epochs: int = 3
    batch_size: int = 8
    max_length: int = 512
    lr: float = 1e-5


@dataclass(frozen=True, kw_only=True)
class RewardConfig(OptimConfig):
    """InstructGPT reward model on K-way rankings.

    epochs: passes over the training rankings (InstructGPT used 1 to avoid overfitting).
    batch_size: prompts per step; every completion of a prompt goes in the same step, so a
        step forwards sum(K) sequences.
    max_length: tokens kept per prompt + completion (truncated, never dropped).
    """

    epochs: int = 1
    batch_size: int = 8
    max_length: int = 512
    lr: float = 9e-6


@dataclass(frozen=True, kw_only=True)
class PPOConfig(OptimConfig):
    """PPO against a reward model, as in InstructGPT.

    steps: rollout batches (each followed by `ppo_epochs` passes of updates).
    rollout_batch_size: prompts sampled per step (one response each).
    minibatch_size: responses per optimiser update.
    ppo_epochs: passes over each rollout batch.
    lr: learning rate of the policy; the value network uses `value_lr` (None: same as lr).
    beta: KL penalty coefficient in r = RM(x, y) - beta * KL(policy || reference).
    adaptive_kl: adjust beta towards `target_kl` with the Ziegler et al. (2019) controller.
    target_kl: KL (nats per response) the adaptive controller aims for.
    kl_horizon: horizon of the adaptive controller, in responses.
    clip_eps: epsilon of the clipped surrogate objective.
    value_clip: how far the value prediction may move from the rollout's value per update.
    value_coef: weight of the value loss (the two networks are separate; this scales its
        gradient relative to its own optimiser).
    gamma: discount; 1.0 because the only non-KL reward arrives at the end of the response.
    lam: GAE lambda.
    ptx_coef: weight of the pretraining/SFT log-likelihood mix (PPO-ptx); 0 disables it.
    ptx_batch_size: demonstrations per update for the ptx term.
    max_new_tokens: response length cap during rollouts.
    temperature: sampling temperature of rollouts (log-probs use the same temperature).
    top_p: nucleus sampling of rollouts; 1.0 keeps the full distribution, which PPO assumes.
    max_prompt_length: prompt tokens kept (the last ones).
    whiten_advantages: normalise advantages per rollout batch.
    """

    steps: int = 100
    rollout_batch_size: int = 64
    minibatch_size: int = 16
    ppo_epochs: int = 4
    lr: float = 1e-6
    value_lr: float | None = None
    beta: float = 0.02
    adaptive_kl: bool = False
    target_kl: float = 6.0
    kl_horizon: int = 10000
    clip_eps: float = 0.2
    value_clip: float = 0.2
    value_coef: float = 1.0
    gamma: float = 1.0
    lam: float = 0.95
    ptx_coef: float = 0.0
    ptx_batch_size: int = 8
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    max_prompt_length: int = 256
    whiten_advantages: bool = True
    save_every: int = 10


@dataclass(frozen=True, kw_only=True)
class DPOConfig(OptimConfig):
    """Direct Preference Optimization on all non-tied pairs of the rankings.

    epochs: passes over the pairs.
    beta: DPO temperature (strength of the implicit KL constraint to the reference).
    batch_size: pairs per step.
    max_length: tokens kept per prompt + completion.
    """

    epochs: int = 1
    lr: float = 5e-7
    beta: float = 0.1
    batch_size: int = 8
    max_length: int = 512


@dataclass(frozen=True)
class SampleConfig:
    """Sampling K completions per prompt.

    k: completions per prompt.
    temperature: 0 means greedy decoding (then the k completions are identical).
    top_p: nucleus sampling threshold.
    max_new_tokens: completion length cap.
    seed: makes sampling reproducible (same seed, prompts and checkpoint -> same text).
    batch_size: prompts per generate() call.
    """

    k: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 32
    seed: int = 0
    batch_size: int = 16
