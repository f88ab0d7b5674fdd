"""Celery tasks of the exports app: thin, take ids, run on the `default` queue."""

from __future__ import annotations

from celery import shared_task

from exports import services


@shared_task(name="exports.tasks.export_job_run", queue="default", acks_late=True, ignore_result=True)
def export_job_run(job_id: str) -> None:
    """Write the file of a queued export job (a job already started or finished is left alone)."""
    services.export_job_run(job_id=job_id)
