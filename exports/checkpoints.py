"""Checkpoints out of the platform: a streamed tar archive of the folder, and a model card."""

from __future__ import annotations

import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from exports.paths import resolve_under_data_dir
from training.models import Checkpoint
from training.selectors import checkpoint_lineage

_BLOCK = 512
_READ = 1 << 20


def checkpoint_folder(checkpoint: Checkpoint) -> Path:
    """The checkpoint's folder, resolved under DATA_DIR (nothing outside it is ever returned)."""
    return resolve_under_data_dir(checkpoint.path, expect="dir")


def _entries(folder: Path) -> Iterator[tuple[Path, str]]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        root_path = Path(root)
        for name in sorted(files):
            path = root_path / name
            # Only regular files: a symlink in a checkpoint folder must not smuggle in a file
            # from elsewhere on the server.
            if path.is_symlink() or not path.is_file():
                continue
            yield path, path.relative_to(folder).as_posix()


def archive_chunks(folder: Path, *, top: str, gzip: bool = True) -> Iterator[bytes]:
    """A tar (optionally gzip) stream of `folder`'s regular files under the directory `top`.

    Built block by block while the response is sent: memory stays at one read buffer, however
    large the weights, and nothing is copied to disk first.
    """
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31) if gzip else None

    def out(data: bytes) -> bytes:
        return compressor.compress(data) if compressor else data

    for path, rel in _entries(folder):
        stat = path.stat()
        info = tarfile.TarInfo(f"{top}/{rel}")
        info.size, info.mode, info.mtime = stat.st_size, 0o644, int(stat.st_mtime)
        if chunk := out(info.tobuf(format=tarfile.PAX_FORMAT)):
            yield chunk
        remaining = stat.st_size
        with open(path, "rb") as fh:
            while remaining > 0:
                data = fh.read(min(_READ, remaining))
                if not data:  # the file shrank while we read it: keep the archive well-formed
                    data = b"\0" * remaining
                remaining -= len(data)
                if chunk := out(data):
                    yield chunk
        if stat.st_size % _BLOCK:
            if chunk := out(b"\0" * (_BLOCK - stat.st_size % _BLOCK)):
                yield chunk
    tail = out(b"\0" * (2 * _BLOCK))
    if compressor:
        tail += compressor.flush()
    yield tail


def _counts(checkpoint: Checkpoint) -> dict:
    snapshot = checkpoint.snapshot
    if snapshot is None:
        return {}
    counts = dict(snapshot.counts or {})
    counts.setdefault("demonstrations", len(snapshot.demonstration_ids or []))
    counts.setdefault("rankings", len(snapshot.ranking_ids or []))
    counts.setdefault("prompts", len(snapshot.prompt_ids or []))
    return counts


def _json_block(value) -> str:
    return "```json\n" + json.dumps(value, indent=2, sort_keys=True, default=str) + "\n```"


def model_card(checkpoint: Checkpoint) -> str:
    """A Markdown model card: what the checkpoint is, the data it saw, configs, metrics, lineage."""
    chain = checkpoint_lineage(checkpoint=checkpoint)
    round_ = checkpoint.round
    lines = [
        f"# Model card: {checkpoint.get_stage_display()} checkpoint `{checkpoint.id}`",
        "",
        f"- Project: {checkpoint.project.name} (`{checkpoint.project.slug}`)",
        f"- Stage: {checkpoint.stage}",
        f"- Created: {checkpoint.created_at.isoformat()}",
        f"- Round: {round_.number if round_ else 'none'}",
        f"- Parent: `{checkpoint.parent_id}`" if checkpoint.parent_id else "- Parent: none (base model)",
        f"- Data snapshot: `{checkpoint.snapshot_id}`" if checkpoint.snapshot_id else "- Data snapshot: none",
        "",
        "## Training data",
        "",
    ]
    counts = _counts(checkpoint)
    if counts:
        lines += ["| data | count |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sorted(counts.items())]
    else:
        lines.append("This checkpoint was not trained on project data (no snapshot).")
    lines += ["", "## Metrics", ""]
    metrics = checkpoint.metrics or {}
    scalar = {k: v for k, v in sorted(metrics.items()) if isinstance(v, (int, float, str, bool))}
    if scalar:
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in scalar.items()]
    if len(scalar) < len(metrics):
        lines += ["", _json_block({k: v for k, v in metrics.items() if k not in scalar})]
    if not metrics:
        lines.append("No metrics recorded.")
    lines += ["", "## Lineage", "", "Newest first, back to the base model:", ""]
    for i, node in enumerate(chain):
        extra = f", round {node.round.number}" if node.round else ""
        snap = f", snapshot `{node.snapshot_id}`" if node.snapshot_id else ""
        lines.append(f"{i + 1}. {node.stage} `{node.id}`{extra}{snap}, created {node.created_at.isoformat()}")
    lines += ["", "## Stage configs", ""]
    for node in chain:
        lines += [f"### {node.stage} `{node.id}`", "", _json_block(node.config or {}) if node.config else "Defaults (no overrides).", ""]
    if round_ is not None and round_.config:
        lines += ["### Round configuration", "", _json_block(round_.config), ""]
    return "\n".join(lines).rstrip() + "\n"
