"""Export jobs and the download log.

An export job records everything needed to write the same bytes again: the kind, format and
options, the snapshot (when taken from one), the highest source id it saw, and the salt of the
labeler pseudonyms.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ExportKind(models.TextChoices):
    SFT = "sft", "Demonstrations for supervised fine-tuning"
    PREFERENCE = "preference", "Preference pairs (prompt, chosen, rejected)"
    RANKINGS = "rankings", "Whole K-way rankings with provenance"
    EVAL = "eval", "Held-out evaluation prompts"


class ExportFormat(models.TextChoices):
    JSONL = "jsonl", "JSON Lines"
    PARQUET = "parquet", "Parquet"
    CSV = "csv", "CSV"


class ExportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="export_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="export_jobs")
    kind = models.CharField(max_length=12, choices=ExportKind.choices)
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    # Normalised filters and shape options (see exports.options.ExportOptions).
    options = models.JSONField(default=dict, blank=True)
    pseudonymize = models.BooleanField(default=True)
    # Keys the labeler pseudonyms: stable within one export (and its re-runs), different across exports.
    salt = models.CharField(max_length=64)
    snapshot = models.ForeignKey("training.DataSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="export_jobs")
    # Highest primary key of the source table when the job was created: rows added later never
    # enter this export, so running it again selects the same rows.
    id_cutoff = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress in source records (demonstrations, rankings or prompts) and output rows written.
    rows_done = models.PositiveBigIntegerField(default=0)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_written = models.PositiveBigIntegerField(default=0)
    # Relative to TRAINING["DATA_DIR"], like checkpoints.
    file_path = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    # Digest of the ordered source ids actually exported: equal digests mean equal row sets.
    source_digest = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(rows_done__lte=models.F("rows_total")), name="export_progress_within_total"),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | (~Q(file_path="") & ~Q(sha256="")), name="export_succeeded_has_file"
            ),
            models.CheckConstraint(condition=~Q(format="csv") | ~Q(kind="rankings"), name="export_no_csv_rankings"),
        ]
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind}.{self.format} export {self.id}"


class DownloadLog(models.Model):
    """One download of an export file or a checkpoint archive."""

    class What(models.TextChoices):
        EXPORT = "export"
        CHECKPOINT = "checkpoint"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    what = models.CharField(max_length=10, choices=What.choices)
    export_job = models.ForeignKey(ExportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="downloads")
    # An id, not a foreign key: the log outlives deleted checkpoints.
    checkpoint_id = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(what="export") & Q(checkpoint_id__isnull=True))
                | (Q(what="checkpoint") & Q(checkpoint_id__isnull=False) & Q(export_job__isnull=True)),
                name="download_log_names_one_thing",
            )
        ]
