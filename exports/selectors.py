"""Reads of the exports app."""

from __future__ import annotations

from django.db.models import QuerySet

from config.errors import NotFound
from exports.models import DownloadLog, ExportJob
from labeling.roles import is_admin


def export_job_list(*, user) -> QuerySet[ExportJob]:
    """The user's own export jobs, newest first; an admin sees everyone's."""
    qs = ExportJob.objects.select_related("project", "created_by", "snapshot")
    if not is_admin(user):
        qs = qs.filter(created_by=user)
    return qs.order_by("-created_at", "id")


def export_job_get(*, user, job_id) -> ExportJob:
    """One job the user may see; others' jobs are reported missing, not forbidden."""
    job = export_job_list(user=user).filter(id=job_id).first()
    if job is None:
        raise NotFound("No such export.")
    return job


def download_log_list() -> QuerySet[DownloadLog]:
    return DownloadLog.objects.select_related("user", "export_job").order_by("-created_at")
