"""Training orchestration: rounds, their stage jobs, data snapshots and checkpoints.

The job row is the source of truth for a stage; a broker message only nudges a worker.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class DataSnapshot(models.Model):
    """The exact demonstrations and rankings a round trained on, frozen when it started."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="snapshots")
    demonstration_ids = models.JSONField(default=list)
    ranking_ids = models.JSONField(default=list)
    prompt_ids = models.JSONField(default=list, help_text="Train prompts PPO may roll out on.")
    counts = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"snapshot {self.id} ({self.project})"


class TrainingRound(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Trigger(models.TextChoices):
        MANUAL = "manual"
        SCHEDULED = "scheduled", "At a time"
        PERIODIC = "periodic"
        RANKINGS = "rankings", "After N new rankings"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="training_rounds")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    # Stages and hyperparameters; missing keys take the defaults of training.ml's configs.
    config = models.JSONField(default=dict, blank=True)
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.ForeignKey(DataSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="rounds")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="round_unique_number_per_project"),
            # One round at a time per project: rounds build on each other's checkpoints.
            models.UniqueConstraint(
                fields=["project"], condition=Q(status__in=["scheduled", "running"]), name="round_one_active_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} round {self.number}"


class TrainingJob(models.Model):
    """One stage of a round, run by one worker at a time (guarded by the lease below)."""

    class Stage(models.TextChoices):
        SFT = "sft", "SFT"
        REWARD = "reward", "Reward model"
        PPO = "ppo", "PPO"
        DPO = "dpo", "DPO"
        SAMPLE = "sample", "Generate samples"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        SKIPPED = "skipped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(TrainingRound, on_delete=models.CASCADE, related_name="jobs")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    order = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=list, blank=True, help_text="Time series: one dict per logged step.")
    log_tail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    # A fresh id per claim: a worker that lost its lease (the sweeper gave the job to another)
    # matches no row any more, so it can neither heartbeat nor record a result.
    lease_id = models.UUIDField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "order"]
        constraints = [
            models.UniqueConstraint(fields=["round", "stage"], name="job_unique_stage_per_round"),
            models.CheckConstraint(condition=Q(step__gte=0), name="job_step_non_negative"),
            models.CheckConstraint(
                condition=~Q(status="running") | Q(lease_id__isnull=False, heartbeat_at__isnull=False),
                name="job_running_has_lease",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.round} / {self.stage}"


class Checkpoint(models.Model):
    """A model on disk (Hugging Face format) with the lineage that made it."""

    class Stage(models.TextChoices):
        BASE = "base"
        SFT = "sft", "SFT"
        REWARD = "reward", "Reward model"
        PPO = "ppo", "PPO"
        DPO = "dpo", "DPO"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="checkpoints")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    # Relative to TRAINING["DATA_DIR"] so a shared volume can be mounted anywhere.
    path = models.CharField(max_length=500)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    snapshot = models.ForeignKey(DataSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="checkpoints")
    job = models.OneToOneField(TrainingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkpoint")
    round = models.ForeignKey(TrainingRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkpoints")
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # Completions on the project's held-out eval prompts ([{"prompt", "completions"}]), written
    # when this checkpoint is a round's final policy, so policies can be compared later.
    eval_samples = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.stage} {self.id}"


class RoundSchedule(models.Model):
    """When a project's rounds start on their own: every N hours and/or after N new rankings."""

    project = models.OneToOneField("labeling.Project", on_delete=models.CASCADE, related_name="round_schedule")
    every_hours = models.PositiveIntegerField(null=True, blank=True)
    rankings_threshold = models.PositiveIntegerField(null=True, blank=True)
    # Round config for rounds this schedule starts (same shape as TrainingRound.config).
    config = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(every_hours__isnull=True) | Q(every_hours__gte=1), name="schedule_every_hours_positive"),
            models.CheckConstraint(
                condition=Q(rankings_threshold__isnull=True) | Q(rankings_threshold__gte=1), name="schedule_threshold_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"schedule of {self.project}"
