"""The labeling data model: what labelers are asked and what they answer.

Invariants live in the database (unique and check constraints); services rely on them
instead of checking before inserting.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Category(models.TextChoices):
    """The use cases of InstructGPT's prompt distribution."""

    BRAINSTORMING = "brainstorming"
    CHAT = "chat"
    CLASSIFICATION = "classification"
    EXTRACT = "extract"
    GENERATION = "generation"
    OPEN_QA = "open_qa", "Open QA"
    CLOSED_QA = "closed_qa", "Closed QA"
    REWRITE = "rewrite"
    SUMMARIZATION = "summarization"
    OTHER = "other"


class Split(models.TextChoices):
    TRAIN = "train"
    EVAL = "eval"


class Flag(models.TextChoices):
    """InstructGPT's per-sample metadata flags."""

    FAILS_INSTRUCTION = "fails_instruction", "Fails to follow the instruction"
    HALLUCINATION = "hallucination", "Hallucination"
    INAPPROPRIATE = "inappropriate", "Inappropriate for a customer assistant"
    SEXUAL = "sexual", "Sexual content"
    VIOLENT = "violent", "Violent content"
    HARMFUL_ADVICE = "harmful_advice", "Harmful advice"
    DENIGRATES = "denigrates_protected_class", "Denigrates a protected class"
    OPINION = "expresses_opinion", "Expresses an opinion"
    MORAL_JUDGMENT = "moral_judgment", "Expresses a moral judgment"


def text_digest(text: str) -> str:
    """Stable digest used to detect duplicate prompts within a project."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    guidelines = models.TextField(blank=True, help_text="Labeling guidelines, in Markdown.")
    k = models.PositiveSmallIntegerField(default=4, help_text="Samples per ranking task (2-9).")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Distinct labelers per task.")
    lease_seconds = models.PositiveIntegerField(default=1800, help_text="How long a claimed task is reserved.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(k__gte=2, k__lte=9), name="project_k_2_to_9"),
            models.CheckConstraint(condition=Q(overlap__gte=1, overlap__lte=50), name="project_overlap_1_to_50"),
            models.CheckConstraint(condition=Q(lease_seconds__gte=30), name="project_lease_at_least_30s"),
        ]

    def __str__(self) -> str:
        return self.name


class Prompt(models.Model):
    class Source(models.TextChoices):
        IMPORTED = "imported"
        LABELER = "labeler", "Written by a labeler"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    text = models.TextField()
    text_hash = models.CharField(max_length=64, editable=False)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.TRAIN)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORTED)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "text_hash"], name="prompt_unique_text_per_project")]
        indexes = [models.Index(fields=["project", "split"])]

    def save(self, *args, **kwargs):
        # A derived column, not business logic: keep the digest in step with the text.
        self.text_hash = text_digest(self.text)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.text[:60]


class Task(models.Model):
    """One unit of work in a project's queue: write a demonstration for a prompt, or rank
    the K samples of a prompt. ``overlap`` distinct labelers complete each task."""

    class Kind(models.TextChoices):
        DEMONSTRATION = "demonstration"
        RANKING = "ranking"

    class Status(models.TextChoices):
        OPEN = "open"
        COMPLETE = "complete"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    overlap = models.PositiveSmallIntegerField(default=1)
    submitted_count = models.PositiveSmallIntegerField(default=0)
    # Lower comes first; rounds may push their samples ahead of older work.
    priority = models.IntegerField(default=0)
    # The training round whose policy produced the samples (ranking tasks), if any.
    round_number = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(submitted_count__lte=F("overlap")), name="task_submissions_within_overlap"),
            models.CheckConstraint(condition=Q(overlap__gte=1), name="task_overlap_positive"),
        ]
        indexes = [
            # The queue scans open tasks of one project and kind in priority order.
            models.Index(fields=["project", "kind", "priority", "id"], condition=Q(status="open"), name="task_open_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class RankingTaskManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Task.Kind.RANKING)


class RankingTask(Task):
    """A task of kind ``ranking``: one prompt and its K samples (see :class:`TaskSample`)."""

    objects = RankingTaskManager()

    class Meta:
        proxy = True


class Sample(models.Model):
    """A response to a prompt, shown to labelers for ranking."""

    class Origin(models.TextChoices):
        DEMONSTRATION = "demonstration"
        IMPORTED = "imported"
        MODEL = "model"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="samples")
    text = models.TextField()
    origin = models.CharField(max_length=16, choices=Origin.choices)
    demonstration = models.ForeignKey("Demonstration", null=True, blank=True, on_delete=models.SET_NULL, related_name="samples")
    # The training app's checkpoint that generated this sample. An id, not a foreign key:
    # labeling does not depend on training.
    checkpoint_id = models.UUIDField(null=True, blank=True, db_index=True)
    round_number = models.PositiveIntegerField(null=True, blank=True)
    generation = models.JSONField(default=dict, blank=True, help_text="Generation settings (temperature, top_p, seed ...).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(origin="model") | Q(checkpoint_id__isnull=False), name="sample_model_origin_has_checkpoint"
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]


class TaskSample(models.Model):
    """The K samples of a ranking task, in their canonical A, B, C ... order."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="task_samples")
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="task_links")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["task", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "position"], name="task_sample_unique_position"),
            models.UniqueConstraint(fields=["task", "sample"], name="task_sample_unique_sample"),
        ]


class Assignment(models.Model):
    """A lease of one task to one labeler."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        EXPIRED = "expired"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=500, blank=True)
    # Sample ids in the order this labeler sees them (a per-labeler shuffle, kept for
    # position-bias analysis). Empty for demonstration tasks.
    shown_order = models.JSONField(default=list, blank=True)
    # Server-side draft of a demonstration, so a reload or a lost session loses nothing.
    draft = models.TextField(blank=True)
    draft_saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="assignment_one_per_labeler_per_task"),
            models.CheckConstraint(
                condition=~Q(status="submitted") | Q(submitted_at__isnull=False), name="assignment_submitted_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["labeler", "status"]),
            models.Index(fields=["task", "status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.task} -> {self.labeler}"


class Demonstration(models.Model):
    """A labeler's ideal answer to a prompt."""

    assignment = models.OneToOneField(Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="demonstration")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="demonstrations")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="demonstrations")
    text = models.TextField()
    time_spent_ms = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["labeler", "idempotency_key"], condition=Q(idempotency_key__isnull=False), name="demonstration_unique_idempotency_key"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Ranking(models.Model):
    """A labeler's ranking of a task's samples, best to worst, ties allowed."""

    assignment = models.OneToOneField(Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="ranking")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="rankings")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="rankings")
    # Groups of sample ids, best group first; a group of several is a tie.
    order = models.JSONField()
    none_acceptable = models.BooleanField(default=False)
    shown_order = models.JSONField(default=list)
    time_spent_ms = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="ranking_one_per_labeler_per_task"),
            models.UniqueConstraint(
                fields=["labeler", "idempotency_key"], condition=Q(idempotency_key__isnull=False), name="ranking_unique_idempotency_key"
            ),
        ]
        indexes = [models.Index(fields=["created_at"])]


class RankingEntry(models.Model):
    """One sample's place, score and flags in a ranking."""

    ranking = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="entries")
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="ranking_entries")
    rank = models.PositiveSmallIntegerField(help_text="1 is best; tied samples share a rank.")
    score = models.PositiveSmallIntegerField(help_text="Overall quality, 1-7.")
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["ranking", "rank", "sample"]
        constraints = [
            models.UniqueConstraint(fields=["ranking", "sample"], name="ranking_entry_unique_sample"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=7), name="ranking_entry_score_1_to_7"),
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=9), name="ranking_entry_rank_1_to_9"),
        ]
