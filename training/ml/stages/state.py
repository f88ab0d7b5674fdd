"""What every stage shares: its result, its resumable state, its optimiser and its checkpoint.

Resumable state lives in `out_dir/state/` and holds the weights of every trainable model, the
optimiser and scheduler states, all RNG states, the step counter (data order is a pure function
of seed, epoch and step, so the step *is* the data position), the metric history and any
stage-specific extras (e.g. PPO's adaptive beta). It is replaced atomically, so a crash while
saving leaves the previous state intact.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from training.ml.checkpoints import CheckpointMeta, config_to_dict, write_meta
from training.ml.config import OptimConfig, RuntimeConfig

STATE_DIR = "state"

Progress = Callable[[int, int, dict], None]
ShouldStop = Callable[[], bool]


@dataclass
class StageResult:
    """checkpoint: the final HF checkpoint (out_dir), or None when stopped before the end.
    metrics: final metrics (also in meta.json). history: one metrics dict per step.
    stopped: True when should_stop() ended the run early; call again to resume."""

    checkpoint: Path | None
    metrics: dict
    history: list[dict] = field(default_factory=list)
    stopped: bool = False


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast(runtime: RuntimeConfig):
    """Autocast to the runtime dtype; a no-op in float32."""
    device, dtype = runtime.torch_device(), runtime.torch_dtype()
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The shuffled order of n examples in an epoch; a pure function, so resuming needs only
    the step counter."""
    g = torch.Generator().manual_seed(seed * 100003 + epoch)
    return torch.randperm(n, generator=g).tolist()


def build_optimizer(
    params, config: OptimConfig, total_steps: int, lr: float | None = None
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with linear warm-up then linear decay to 0 over `total_steps`."""
    optimizer = torch.optim.AdamW(params, lr=lr if lr is not None else config.lr, weight_decay=config.weight_decay)

    def schedule(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / (config.warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - config.warmup_steps))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def clip_and_step(model: torch.nn.Module, optimizer, scheduler, max_grad_norm: float) -> float:
    """Clip the gradient norm, step optimiser and schedule, zero the gradients; returns the norm."""
    norm = (
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        if max_grad_norm > 0
        else torch.tensor(0.0)
    )
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(norm)


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Optimiser steps in one pass (the last batch may be short)."""
    if n_examples == 0:
        raise ValueError("the training split is empty: a stage needs at least one example")
    return math.ceil(n_examples / batch_size)


def save_state(
    out_dir: Path,
    *,
    step: int,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, object],
    history: list[dict],
    extra: dict | None = None,
) -> Path:
    """Write the resumable state to out_dir/state, atomically replacing the previous one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (STATE_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, model in models.items():
        save_model(model, str(tmp / f"{name}.safetensors"))
    rng = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    torch.save(
        {
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
            "rng": rng,
        },
        tmp / "trainer.pt",
    )
    (tmp / "progress.json").write_text(json.dumps({"step": step, "history": history, "extra": extra or {}}))
    final = out_dir / STATE_DIR
    old = out_dir / (STATE_DIR + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_state(
    out_dir: Path,
    *,
    models: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    schedulers: dict[str, object],
) -> tuple[int, list[dict], dict] | None:
    """Restore the newest state from out_dir/state into the given objects.

    Returns (step, history, extra), or None when there is nothing to resume (fresh run).
    """
    state = out_dir / STATE_DIR
    if not state.exists() and (out_dir / (STATE_DIR + ".old")).exists():
        state = out_dir / (STATE_DIR + ".old")  # crashed between the two renames
    if not (state / "progress.json").exists():
        return None
    for name, model in models.items():
        load_model(model, str(state / f"{name}.safetensors"), device=str(next(model.parameters()).device))
    trainer = torch.load(state / "trainer.pt", weights_only=False)
    for k, o in optimizers.items():
        o.load_state_dict(trainer["optimizers"][k])
    for k, s in schedulers.items():
        s.load_state_dict(trainer["schedulers"][k])
    rng = trainer["rng"]
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    progress = json.loads((state / "progress.json").read_text())
    return progress["step"], progress["history"], progress["extra"]


def write_checkpoint(
    model, tokenizer, out_dir: Path, *, stage: str, parent, snapshot_id: str | None, config, metrics: dict
) -> Path:
    """Save the final model (safetensors) and tokenizer in HF format plus meta.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    write_meta(
        out_dir,
        CheckpointMeta(
            stage=stage,
            parent=str(parent) if parent is not None else None,
            snapshot_id=snapshot_id,
            config=config_to_dict(config),
            metrics=metrics,
        ),
    )
    return out_dir
