"""Where rounds write on the shared DATA_DIR, and the base model a project starts from."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings

TINY_MODEL_DIR = Path("models") / "tiny"


def data_dir() -> Path:
    return Path(settings.TRAINING["DATA_DIR"])


def stage_dir(*, project_slug: str, round_number: int, stage: str) -> Path:
    """The out_dir of a round's stage; relative to DATA_DIR, so every worker finds it."""
    return Path("projects") / project_slug / "rounds" / str(round_number) / stage


def absolute(path: str | Path) -> Path:
    """A checkpoint path as stored (relative to DATA_DIR) made absolute; absolute or hub names pass."""
    p = Path(path)
    return p if p.is_absolute() else data_dir() / p


def relative(path: str | Path) -> str:
    """The stored form of a path: relative to DATA_DIR when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(data_dir().resolve()))
    except ValueError:
        return str(path)


def tiny_model_ensure() -> Path:
    """Build the tiny base model under DATA_DIR/models/tiny unless it is there; returns its path.

    Built in a scratch folder and renamed into place, so two workers racing to build it never
    leave a half-written model behind.
    """
    from training.ml.models import bootstrap_tiny_model

    target = data_dir() / TINY_MODEL_DIR
    if (target / "config.json").exists():
        return target
    scratch = target.parent / f".tiny-{uuid.uuid4().hex}"
    bootstrap_tiny_model(scratch)
    try:
        scratch.rename(target)
    except OSError:
        # Another process won the race; its model is as good as ours.
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def base_model_path() -> str:
    """settings.TRAINING["BASE_MODEL"] (a local path or a hub name), else the tiny model."""
    configured = settings.TRAINING.get("BASE_MODEL") or ""
    if configured:
        return configured
    return relative(tiny_model_ensure())
