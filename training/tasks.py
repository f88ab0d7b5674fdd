"""Celery tasks of the training app: thin, they take ids and call one service.

Queues (routes in config/celery.py): `training` for stage jobs (GPU workers), `default` for
the light work. The job row, not the message, decides whether anything runs.
"""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.conf import settings

from training.services import jobs, rounds

_LIMITS = settings.TRAINING


@shared_task(
    name="training.tasks.job_run",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=_LIMITS["JOB_SOFT_TIME_LIMIT_S"],
    time_limit=_LIMITS["JOB_SOFT_TIME_LIMIT_S"] + 300,
)
def job_run(job_id: str) -> str:
    """Run one stage job (a no-op when another worker holds it or it is done)."""
    return jobs.job_run(job_id=job_id, worker=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(name="training.tasks.round_start", acks_late=True, soft_time_limit=120, time_limit=180)
def round_start(round_id: int) -> None:
    """Freeze the round's snapshot and queue its first job."""
    rounds.round_start(round_id=round_id)


@shared_task(name="training.tasks.jobs_sweep", soft_time_limit=60, time_limit=90)
def jobs_sweep() -> dict:
    """Re-queue or fail jobs whose worker stopped heartbeating (beat, every minute)."""
    return jobs.jobs_sweep()


@shared_task(name="training.tasks.rounds_tick", soft_time_limit=60, time_limit=90)
def rounds_tick() -> dict:
    """Start due rounds and fire project schedules (beat, every minute)."""
    return rounds.rounds_tick()
