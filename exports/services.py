"""Writes of the exports app: export jobs and their files, and the download log."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError, Conflict, Forbidden
from exports.models import DownloadLog, ExportJob
from exports.paths import resolve_under_data_dir
from exports.options import ExportOptions, export_options_parse
from exports.rows import BATCHES, Labelers, read_ahead, schema_for, source_id_cutoff, source_queryset
from exports.writers import WRITERS
from labeling.models import Project
from labeling.roles import is_admin, is_ml_engineer
from training.models import DataSnapshot

EXTENSIONS = {"jsonl": "jsonl", "parquet": "parquet", "csv": "csv"}


@dataclass(frozen=True)
class ExportResult:
    rows_total: int  # source records selected
    rows_written: int  # output rows (pairs for preference exports)
    sha256: str
    size_bytes: int
    source_digest: str


def can_export(user) -> bool:
    """ML engineers and admins take data out of the platform; labelers do not."""
    return is_ml_engineer(user) or is_admin(user)


def _snapshot_for(project: Project, options: ExportOptions) -> DataSnapshot | None:
    if not options.snapshot:
        return None
    snapshot = DataSnapshot.objects.filter(id=options.snapshot, project=project).first()
    if snapshot is None:
        raise ApplicationError("snapshot: No snapshot with this id in this project.", details={"field": "snapshot"})
    return snapshot


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def export_file_write(
    *,
    project: Project,
    kind: str,
    fmt: str,
    options: ExportOptions,
    salt: str,
    pseudonymize: bool,
    id_cutoff: int,
    out_path: Path,
    progress: Callable[[int, int, int], None] | None = None,
) -> ExportResult:
    """Stream the export's rows to `out_path`, atomically: rows go to a sibling temp file that is
    renamed into place only when complete, and removed on any failure.

    Same arguments and same database rows give the same bytes (id order, stored salt, cutoff).
    `progress(done, total, written)` is called after each chunk of source records.
    """
    snapshot = _snapshot_for(project, options)
    queryset = source_queryset(project=project, kind=kind, options=options, id_cutoff=id_cutoff, snapshot=snapshot)
    total = queryset.count()
    schema = schema_for(kind, options)
    labelers = Labelers(salt=salt, pseudonymize=pseudonymize)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{secrets.token_hex(4)}.part")
    ids_digest = hashlib.sha256()
    done = written = 0
    try:
        with open(tmp, "wb") as fh:
            writer = WRITERS[fmt](fh, schema)
            batches = BATCHES[kind]
            if transaction.get_connection(queryset.db).in_atomic_block:
                # Inside a transaction, rows must come from that transaction: read in line.
                stream = batches(queryset, options, labelers)
            else:
                stream = read_ahead(lambda: batches(queryset, options, labelers))
            for ids, columns in stream:
                n = len(next(iter(columns.values())))
                if n:
                    writer.write(columns)
                ids_digest.update(("\n".join(map(str, ids)) + "\n").encode())
                done += len(ids)
                written += n
                if progress:
                    progress(min(done, total), total, written)
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(
        rows_total=total,
        rows_written=written,
        sha256=_sha256(out_path),
        size_bytes=out_path.stat().st_size,
        source_digest=ids_digest.hexdigest(),
    )


def export_prepare(*, project: Project, kind: str, fmt: str, raw_options: dict) -> tuple[ExportOptions, DataSnapshot | None, int]:
    """Validate options and fix the row set: (options, snapshot, id cutoff)."""
    options = export_options_parse(kind=kind, fmt=fmt, raw=raw_options)
    snapshot = _snapshot_for(project, options)
    # With an agreement filter the cutoff is the last ranking of the project (or snapshot), not
    # the last one the filters select: agreement is counted over every ranking up to the cutoff,
    # so a later ranking of the same task cannot change what a replay selects.
    bounds = ExportOptions(snapshot=options.snapshot) if options.min_agreement is not None else options
    cutoff = source_id_cutoff(source_queryset(project=project, kind=kind, options=bounds, id_cutoff=None, snapshot=snapshot))
    return options, snapshot, cutoff


@transaction.atomic
def export_job_create(*, user, project: Project, kind: str, fmt: str, options: dict, pseudonymize: bool = True) -> ExportJob:
    """Record an export job and enqueue its run once the transaction commits."""
    if not can_export(user):
        raise Forbidden("Only ML engineers and admins can export data.")
    parsed, snapshot, cutoff = export_prepare(project=project, kind=kind, fmt=fmt, raw_options=options)
    job = ExportJob.objects.create(
        project=project,
        created_by=user,
        kind=kind,
        format=fmt,
        options=parsed.to_json(),
        pseudonymize=pseudonymize,
        salt=secrets.token_hex(16),
        snapshot=snapshot,
        id_cutoff=cutoff,
    )
    _enqueue(job)
    return job


@transaction.atomic
def export_job_repeat(*, user, job: ExportJob) -> ExportJob:
    """A new job with the same row set, options and salt: its file has the same bytes as
    long as the selected rows are unchanged (compare `source_digest` and `sha256`)."""
    if not can_export(user):
        raise Forbidden("Only ML engineers and admins can export data.")
    again = ExportJob.objects.create(
        project=job.project,
        created_by=user,
        kind=job.kind,
        format=job.format,
        options=job.options,
        pseudonymize=job.pseudonymize,
        salt=job.salt,
        snapshot=job.snapshot,
        id_cutoff=job.id_cutoff,
    )
    _enqueue(again)
    return again


def _enqueue(job: ExportJob) -> None:
    from exports.tasks import export_job_run as task

    job_id = str(job.id)
    transaction.on_commit(lambda: task.delay(job_id))


def export_job_run(*, job_id) -> ExportJob | None:
    """Run a queued export job to completion. A job that is not queued (already running,
    finished, or unknown) is left alone, so a redelivered message does nothing."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(id=job_id, status=ExportJob.Status.QUEUED).first()
        if job is None:
            return None
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])

    relative = Path("exports") / f"{job.id}.{EXTENSIONS[job.format]}"
    last_update = float("-inf")

    def progress(done: int, total: int, written: int) -> None:
        nonlocal last_update
        now = time.monotonic()
        if now - last_update >= 0.5 or done == total:
            last_update = now
            ExportJob.objects.filter(id=job.id).update(rows_done=done, rows_total=total, rows_written=written)

    try:
        result = export_file_write(
            project=job.project,
            kind=job.kind,
            fmt=job.format,
            options=ExportOptions.from_json(job.options),
            salt=job.salt,
            pseudonymize=job.pseudonymize,
            id_cutoff=job.id_cutoff,
            out_path=Path(settings.TRAINING["DATA_DIR"]) / relative,
            progress=progress,
        )
    except Exception as exc:  # the job row reports it; the worker stays up
        ExportJob.objects.filter(id=job.id).update(
            status=ExportJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job
    ExportJob.objects.filter(id=job.id).update(
        status=ExportJob.Status.SUCCEEDED,
        rows_done=result.rows_total,
        rows_total=result.rows_total,
        rows_written=result.rows_written,
        file_path=str(relative),
        sha256=result.sha256,
        size_bytes=result.size_bytes,
        source_digest=result.source_digest,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def export_job_file(*, job: ExportJob) -> Path:
    """The finished file of a job, resolved under DATA_DIR."""
    if job.status != ExportJob.Status.SUCCEEDED:
        raise Conflict(f"This export is {job.status}; download it once it has succeeded.", code="not_ready")
    return resolve_under_data_dir(job.file_path, expect="file")


@transaction.atomic
def download_log_record(*, user, export_job: ExportJob | None = None, checkpoint_id=None, ip: str | None = None) -> DownloadLog:
    """Log one download (who, what, when, from where)."""
    what = DownloadLog.What.EXPORT if export_job is not None else DownloadLog.What.CHECKPOINT
    return DownloadLog.objects.create(user=user, what=what, export_job=export_job, checkpoint_id=checkpoint_id, ip=ip)
