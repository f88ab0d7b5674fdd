"""Running one stage job: claim it under a lease, run it with heartbeats, record the result.

The job row decides what runs. A task message only names a job; `job_run` claims the row with
`select_for_update`, and a second message for the same job (a duplicate, or a redelivery while
the first worker still heartbeats) finds it running and returns. A worker that dies stops
heartbeating; `jobs_sweep` re-queues the job (up to MAX_ATTEMPTS) and the next worker resumes
the stage from the resumable state the library keeps in the stage's out_dir.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, NotFound
from training.models import TrainingJob, TrainingRound

logger = logging.getLogger(__name__)

FINISHED = (TrainingJob.Status.SUCCEEDED, TrainingJob.Status.SKIPPED)
# How many points of a job's metric series are kept in the row (the UI's charts).
MAX_METRIC_POINTS = 2000
LOG_TAIL_LINES = 40


class LeaseLost(Exception):
    """The job was given to another worker (or cancelled outright); stop without writing."""


def _knob(name: str):
    return settings.TRAINING[name]


def json_safe(value):
    """Metrics as JSON Postgres accepts: NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def job_enqueue(job: TrainingJob) -> None:
    """Send the job's task once the current transaction commits (the row must exist first)."""
    from training.tasks import job_run as job_run_task

    job_id = str(job.id)
    transaction.on_commit(lambda: job_run_task.delay(job_id))


@dataclass
class Lease:
    """A claimed job, as its worker sees it while the stage runs."""

    job_id: uuid.UUID
    lease_id: uuid.UUID
    attempt: int
    worker: str
    metrics: list = field(default_factory=list)
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    last_beat: float = 0.0
    last_cancel_check: float = 0.0
    cancelled: bool = False

    def log_line(self, text: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        self.log.append(f"{stamp} {text}")
        logger.info("job %s: %s", self.job_id, text)

    def heartbeat(self, *, step: int | None = None, total: int | None = None, force: bool = False) -> None:
        """Write progress, metrics and log tail, at most every HEARTBEAT_EVERY_S unless forced.

        Raises LeaseLost when the row is no longer this lease's (re-queued or taken over).
        """
        now = time.monotonic()
        if not force and now - self.last_beat < _knob("HEARTBEAT_EVERY_S"):
            return
        self.last_beat = now
        values = {"heartbeat_at": timezone.now(), "metrics": self.metrics[-MAX_METRIC_POINTS:], "log_tail": "\n".join(self.log)}
        if step is not None:
            values["step"] = step
        if total is not None:
            values["total_steps"] = total
        updated = TrainingJob.objects.filter(id=self.job_id, lease_id=self.lease_id, status=TrainingJob.Status.RUNNING).update(
            **values
        )
        if not updated:
            raise LeaseLost(f"job {self.job_id} is no longer leased to {self.worker}")

    def progress(self, step: int, total: int, metrics: dict) -> None:
        """The stage's progress callback: keeps the series and heartbeats (throttled)."""
        point = json_safe({**metrics, "step": step})
        # After a resume the library restarts from its saved step: drop points it will redo.
        while self.metrics and (self.metrics[-1].get("step") or 0) >= step:
            self.metrics.pop()
        self.metrics.append(point)
        if step == 1 or step == total or step % max(1, total // 10) == 0:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in point.items() if isinstance(v, float))
            self.log_line(f"step {step}/{total} {shown}")
        self.heartbeat(step=step, total=total, force=step == total)

    def should_stop(self) -> bool:
        """The stage's stop signal: an admin asked to cancel (checked at most once a second)."""
        now = time.monotonic()
        if not self.cancelled and now - self.last_cancel_check >= 1.0:
            self.last_cancel_check = now
            self.cancelled = TrainingJob.objects.filter(id=self.job_id, cancel_requested=True).exists()
        return self.cancelled


@transaction.atomic
def job_claim(*, job_id, worker: str) -> Lease | None:
    """Take the job for `worker`, or None when it is not this worker's to run.

    Runs when the job is queued, or running with a heartbeat older than HEARTBEAT_TIMEOUT_S
    (its worker died and no sweeper has re-queued it yet). Any other state means another
    worker holds it or it is done: a duplicate message, which must do nothing.
    """
    job = TrainingJob.objects.select_for_update().select_related("round").filter(id=job_id).first()
    if job is None or job.round.status != TrainingRound.Status.RUNNING:
        return None
    now = timezone.now()
    stale = job.status == TrainingJob.Status.RUNNING and job.heartbeat_at < now - timedelta(seconds=_knob("HEARTBEAT_TIMEOUT_S"))
    if job.status != TrainingJob.Status.QUEUED and not stale:
        return None
    lease = Lease(job_id=job.id, lease_id=uuid.uuid4(), attempt=job.attempts + 1, worker=worker, metrics=list(job.metrics))
    lease.log.extend(line for line in job.log_tail.splitlines() if line)
    lease.log_line(f"attempt {lease.attempt} on {worker}" + (f" (took over from {job.worker})" if stale else ""))
    job.status = TrainingJob.Status.RUNNING
    job.lease_id = lease.lease_id
    job.attempts = lease.attempt
    job.worker = worker
    job.heartbeat_at = now
    job.started_at = job.started_at or now
    job.message = ""
    job.log_tail = "\n".join(lease.log)
    job.save()
    return lease


def _locked_own_job(lease: Lease) -> TrainingJob:
    job = TrainingJob.objects.select_for_update().select_related("round").get(id=lease.job_id)
    if job.lease_id != lease.lease_id or job.status != TrainingJob.Status.RUNNING:
        raise LeaseLost(f"job {lease.job_id} is no longer leased to {lease.worker}")
    return job


@transaction.atomic
def job_succeed(*, lease: Lease, outcome) -> None:
    """Record the stage's outcome (its checkpoint, its hand-over to labeling), then start the
    round's next job; all or nothing, so a crash here leaves the job to be run again."""
    from training.models import Checkpoint
    from training.services.rounds import round_advance

    job = _locked_own_job(lease)
    message = outcome.message
    if outcome.checkpoint is not None:
        Checkpoint.objects.create(job=job, round=job.round, project=job.round.project, **outcome.checkpoint)
    if outcome.after is not None:
        outcome.after(job)
    lease.log_line(message or "done")
    job.status = TrainingJob.Status.SUCCEEDED
    job.message = message
    job.finished_at = timezone.now()
    job.lease_id = None
    job.metrics = lease.metrics[-MAX_METRIC_POINTS:]
    job.log_tail = "\n".join(lease.log)
    job.save()
    round_advance(round_=job.round)


@transaction.atomic
def job_stopped(*, lease: Lease) -> None:
    """The stage stopped on a cancel request; its resumable state stays in its out_dir."""
    job = _locked_own_job(lease)
    lease.log_line("stopped on request; state saved, retry resumes from it")
    job.status = TrainingJob.Status.CANCELLED
    job.message = "Cancelled at step {}; retry resumes from the saved state.".format(job.step)
    job.finished_at = timezone.now()
    job.lease_id = None
    job.log_tail = "\n".join(lease.log)
    job.metrics = lease.metrics[-MAX_METRIC_POINTS:]
    job.save()


@transaction.atomic
def job_fail(*, lease: Lease, message: str) -> None:
    """The stage raised: the job and its round fail with the reason; `job_retry` can rerun it."""
    from training.services.rounds import round_fail

    job = _locked_own_job(lease)
    lease.log_line(message.splitlines()[0] if message else "failed")
    job.status = TrainingJob.Status.FAILED
    job.message = message
    job.finished_at = timezone.now()
    job.lease_id = None
    job.log_tail = "\n".join(lease.log)
    job.metrics = lease.metrics[-MAX_METRIC_POINTS:]
    job.save()
    round_fail(round_=job.round, message=f"{job.get_stage_display()} failed: {message.splitlines()[0] if message else ''}")


def job_run(*, job_id, worker: str) -> str:
    """Claim and run one job to its end; returns what happened ("noop", "succeeded", ...).

    Called by the Celery task; safe to call any number of times for the same job.
    """
    from training.services.stages import stage_execute

    lease = job_claim(job_id=job_id, worker=worker)
    if lease is None:
        return "noop"
    try:
        outcome = stage_execute(lease=lease)
    except LeaseLost:
        logger.warning("job %s: lease lost; another worker owns it now", job_id)
        return "lease_lost"
    except BaseException as exc:  # noqa: BLE001 -- time limits and crashes alike must land in the row
        tail = "".join(traceback.format_exception(exc)[-3:]).strip()
        try:
            job_fail(lease=lease, message=f"{type(exc).__name__}: {exc}\n{tail}")
        except LeaseLost:
            return "lease_lost"
        if not isinstance(exc, Exception):
            raise
        return "failed"
    if outcome.stopped:
        job_stopped(lease=lease)
        return "cancelled"
    try:
        job_succeed(lease=lease, outcome=outcome)
    except LeaseLost:
        return "lease_lost"
    return "succeeded"


@transaction.atomic
def job_retry(*, job_id) -> TrainingJob:
    """Re-run a failed or cancelled job (and the rest of its round) from its saved state."""
    from training.services.rounds import round_resume

    job = TrainingJob.objects.select_for_update().select_related("round__project").filter(id=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    if job.status not in (TrainingJob.Status.FAILED, TrainingJob.Status.CANCELLED):
        raise Conflict(f"Only a failed or cancelled job can be retried; this one is {job.status}.", code="job_not_retryable")
    round_resume(round_=job.round)
    job.status = TrainingJob.Status.QUEUED
    job.cancel_requested = False
    job.attempts = 0
    job.message = ""
    job.finished_at = None
    job.save()
    # Later stages of a cancelled or failed round run again after this one.
    job.round.jobs.filter(order__gt=job.order, status=TrainingJob.Status.CANCELLED).update(
        status=TrainingJob.Status.QUEUED, cancel_requested=False, message="", finished_at=None
    )
    job_enqueue(job)
    return job


def jobs_sweep(*, stale_after_s: float | None = None, max_attempts: int | None = None) -> dict[str, int]:
    """Re-queue (or fail, after `max_attempts`) running jobs whose heartbeat stopped.

    Each job is handled in its own transaction with skip_locked, so two sweepers never
    handle the same job and a job being claimed right now is left alone.
    """
    stale_after_s = _knob("HEARTBEAT_TIMEOUT_S") if stale_after_s is None else stale_after_s
    max_attempts = _knob("MAX_ATTEMPTS") if max_attempts is None else max_attempts
    cutoff = timezone.now() - timedelta(seconds=stale_after_s)
    counts = {"requeued": 0, "failed": 0, "cancelled": 0}
    candidates = list(
        TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=cutoff).values_list("id", flat=True)
    )
    for job_id in candidates:
        outcome = _sweep_one(job_id=job_id, cutoff=cutoff, max_attempts=max_attempts)
        if outcome:
            counts[outcome] += 1
    return counts


@transaction.atomic
def _sweep_one(*, job_id, cutoff, max_attempts: int) -> str | None:
    from training.services.rounds import round_fail

    job = (
        TrainingJob.objects.select_for_update(skip_locked=True)
        .select_related("round")
        .filter(id=job_id, status=TrainingJob.Status.RUNNING, heartbeat_at__lt=cutoff)
        .first()
    )
    if job is None:
        return None
    lost = f"worker {job.worker} stopped heartbeating at step {job.step}"
    job.lease_id = None
    job.log_tail = (job.log_tail + "\n" if job.log_tail else "") + f"{timezone.now():%H:%M:%S} {lost}"
    if job.cancel_requested or job.round.status != TrainingRound.Status.RUNNING:
        job.status, job.message, job.finished_at = TrainingJob.Status.CANCELLED, f"Cancelled; {lost}.", timezone.now()
        job.save()
        return "cancelled"
    if job.attempts >= max_attempts:
        job.status, job.finished_at = TrainingJob.Status.FAILED, timezone.now()
        job.message = f"Gave up after {job.attempts} attempts: {lost}."
        job.save()
        round_fail(round_=job.round, message=f"{job.get_stage_display()} failed: {job.message}")
        return "failed"
    job.status = TrainingJob.Status.QUEUED
    job.message = f"Re-queued: {lost}."
    job.save()
    job_enqueue(job)
    return "requeued"
