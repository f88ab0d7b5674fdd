"""Checkpoint metadata: what a checkpoint is, where it came from, how it scored.

A checkpoint directory is Hugging Face format (config, safetensors weights, tokenizer) plus
`meta.json`, so any result can be traced back to its parent, its config and its data snapshot.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime, timezone
from pathlib import Path

META_FILE = "meta.json"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that determine what a checkpoint means."""
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


@dataclass(frozen=True)
class CheckpointMeta:
    """stage: "base", "sft", "reward", "ppo" or "dpo". parent: the checkpoint it started from
    (for PPO the policy; the reward model is in config["reward_model"]). snapshot_id: the id of
    the data snapshot it was trained on. config: the stage config as a dict. metrics: final
    metrics. versions: library versions. created_at: ISO 8601, UTC."""

    stage: str
    parent: str | None
    snapshot_id: str | None
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=library_versions)
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


def config_to_dict(config) -> dict:
    """A (possibly nested) config dataclass as a JSON-ready dict."""
    return asdict(config) if is_dataclass(config) else dict(config)


def write_meta(directory: str | Path, meta: CheckpointMeta) -> Path:
    """Write meta.json into a checkpoint directory; returns its path."""
    path = Path(directory) / META_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2, sort_keys=True, default=str))
    tmp.replace(path)  # readers never see a half-written file
    return path


def read_meta(directory: str | Path) -> CheckpointMeta:
    """Read meta.json of a checkpoint directory."""
    path = Path(directory) / META_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: is {directory} a checkpoint written by training.ml?")
    data = json.loads(path.read_text())
    known = {f.name for f in fields(CheckpointMeta)}
    return CheckpointMeta(**{k: v for k, v in data.items() if k in known})
