"""Task services: the units of work in a project's queue, and the samples they show."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from config.errors import ApplicationError, NotFound
from labeling.models import Project, Prompt, Sample, Task, TaskSample
from labeling.sql import ids_subquery


def _check_text(text: str, *, field: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError(f"{field} must be a non-empty string.", details={"field": field})
    limit = settings.LABELING["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise ApplicationError(f"{field} is {len(text)} characters long; the limit is {limit}.", details={"field": field})
    return text


@transaction.atomic
def demonstration_task_create(*, prompt: Prompt, priority: int = 0) -> Task:
    """Queue a demonstration task for ``prompt``; ``project.overlap`` labelers will answer it."""
    return Task.objects.create(
        project_id=prompt.project_id,
        prompt=prompt,
        kind=Task.Kind.DEMONSTRATION,
        overlap=prompt.project.overlap,
        priority=priority,
    )


@transaction.atomic
def samples_create(
    *,
    prompt: Prompt,
    texts: Sequence[str],
    origin: str = Sample.Origin.IMPORTED,
    checkpoint_id: uuid.UUID | None = None,
    round_number: int | None = None,
    generation: dict[str, Any] | None = None,
) -> list[Sample]:
    """Store responses to ``prompt`` (imported, or written by a model checkpoint)."""
    if origin not in Sample.Origin.values:
        raise ApplicationError(f"Unknown sample origin {origin!r}.", details={"field": "origin"})
    if origin == Sample.Origin.MODEL and checkpoint_id is None:
        raise ApplicationError("Samples from a model need the checkpoint_id that produced them.", details={"field": "checkpoint_id"})
    for text in texts:
        _check_text(text, field="text")
    return Sample.objects.bulk_create(
        [
            Sample(
                prompt=prompt, text=text, origin=origin, checkpoint_id=checkpoint_id,
                round_number=round_number, generation=generation or {},
            )
            for text in texts
        ]
    )


def _ranking_task_insert(*, project: Project, prompt: Prompt, samples: Sequence[Sample], priority: int, round_number: int | None) -> Task:
    """Insert a ranking task and its sample links. Callers have validated the samples."""
    task = Task.objects.create(
        project=project, prompt=prompt, kind=Task.Kind.RANKING, overlap=project.overlap,
        priority=priority, round_number=round_number,
    )
    TaskSample.objects.bulk_create([TaskSample(task=task, sample=s, position=i) for i, s in enumerate(samples)])
    return task


@transaction.atomic
def ranking_task_create(*, prompt: Prompt, samples: list[Sample], priority: int = 0, round_number: int | None = None) -> Task:
    """Queue a ranking task showing ``samples`` (exactly ``project.k`` of them, all answers
    to ``prompt``, no repeats) in the given canonical A, B, C ... order."""
    project = prompt.project
    if len(samples) != project.k:
        raise ApplicationError(
            f"A ranking task of project {project.slug!r} needs exactly {project.k} samples, got {len(samples)}.",
            details={"field": "samples"},
        )
    if len({s.pk for s in samples}) != len(samples):
        raise ApplicationError("The samples of a ranking task must be distinct.", details={"field": "samples"})
    if any(s.prompt_id != prompt.pk for s in samples):
        raise ApplicationError("Every sample of a ranking task must answer the task's prompt.", details={"field": "samples"})
    return _ranking_task_insert(project=project, prompt=prompt, samples=samples, priority=priority, round_number=round_number)


@transaction.atomic
def ranking_tasks_create_from_model(
    *,
    project: Project,
    completions: dict[int, list[str]],
    checkpoint_id: uuid.UUID,
    round_number: int,
    generation: dict[str, Any],
) -> list[Task]:
    """Turn a checkpoint's completions (prompt id -> K texts) into samples and ranking tasks,
    all or nothing. Called by the training app after its sampling stage."""
    prompts = {p.pk: p for p in Prompt.objects.filter(project=project, pk__in=ids_subquery(completions)).select_related("project")}
    missing = sorted(set(completions) - set(prompts))
    if missing:
        raise NotFound(f"Prompts {missing[:10]} are not in project {project.slug!r}.")
    for prompt_id, texts in completions.items():
        if len(texts) != project.k:
            raise ApplicationError(
                f"Prompt {prompt_id} has {len(texts)} completions; project {project.slug!r} ranks {project.k} per task.",
                details={"field": "completions", "prompt_id": prompt_id},
            )
    limit = settings.LABELING["MAX_TEXT_CHARS"]
    samples = Sample.objects.bulk_create(
        [
            Sample(
                prompt_id=prompt_id,
                # A model may ramble past the limit; labelers still rank the visible part.
                text=text[:limit],
                origin=Sample.Origin.MODEL,
                checkpoint_id=checkpoint_id,
                round_number=round_number,
                generation=generation,
            )
            for prompt_id, texts in completions.items()
            for text in texts
        ]
    )
    tasks = Task.objects.bulk_create(
        [
            Task(project=project, prompt_id=prompt_id, kind=Task.Kind.RANKING, overlap=project.overlap, round_number=round_number)
            for prompt_id in completions
        ]
    )
    links = []
    for index, task in enumerate(tasks):
        for position in range(project.k):
            links.append(TaskSample(task=task, sample=samples[index * project.k + position], position=position))
    TaskSample.objects.bulk_create(links)
    return tasks
