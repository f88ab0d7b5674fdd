"""Turning stored relative paths into files under DATA_DIR, and nothing outside it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from config.errors import NotFound


def resolve_under_data_dir(relative: str, *, expect: str) -> Path:
    """Resolve a path stored in the database under TRAINING["DATA_DIR"].

    Symlinks and ``..`` are resolved first; anything that lands outside DATA_DIR (or on it), or
    is not a `expect` ("file" or "dir"), is reported as missing, never opened.
    """
    base = Path(settings.TRAINING["DATA_DIR"]).resolve()
    if not relative or "\x00" in relative:
        raise NotFound("The stored files are missing.")
    target = (base / relative).resolve()
    if target == base or not target.is_relative_to(base):
        raise NotFound("The stored files are missing.")
    if (expect == "file" and not target.is_file()) or (expect == "dir" and not target.is_dir()):
        raise NotFound("The stored files are missing.")
    return target
