"""Scheduling, starting, advancing, cancelling rounds; a project's automatic schedule."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from config.errors import ApplicationError, Conflict, NotFound
from labeling import selectors as labeling_selectors
from labeling.models import Project, Split
from training.models import Checkpoint, DataSnapshot, RoundSchedule, TrainingJob, TrainingRound
from training.services.jobs import job_enqueue
from training.services.round_config import round_config_validate

logger = logging.getLogger(__name__)

Status = TrainingRound.Status
ACTIVE = (Status.SCHEDULED, Status.RUNNING)


def round_start_enqueue(round_: TrainingRound) -> None:
    """Send the round's start task once the current transaction commits."""
    from training.tasks import round_start as round_start_task

    round_id = round_.id
    transaction.on_commit(lambda: round_start_task.delay(round_id))


@transaction.atomic
def round_schedule(
    *,
    project: Project,
    scheduled_by=None,
    config: dict | None = None,
    start_at: datetime | None = None,
    trigger: str = TrainingRound.Trigger.MANUAL,
) -> TrainingRound:
    """Schedule the project's next round, now or at `start_at`.

    One round runs at a time per project (a database constraint): scheduling while another
    is scheduled or running is a 409 naming that round.
    """
    merged = round_config_validate(config)
    Project.objects.select_for_update().get(pk=project.pk)  # serialises round numbering
    active = TrainingRound.objects.filter(project=project, status__in=ACTIVE).first()
    if active is not None:
        raise Conflict(
            f"Round {active.number} of this project is still {active.status}; cancel it or wait for it to finish.",
            code="round_active",
            details={"round": active.id},
        )
    number = (TrainingRound.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
    trigger = TrainingRound.Trigger.SCHEDULED if start_at and trigger == TrainingRound.Trigger.MANUAL else trigger
    try:
        with transaction.atomic():
            round_ = TrainingRound.objects.create(
                project=project, number=number, config=merged, scheduled_by=scheduled_by, start_at=start_at, trigger=trigger
            )
    except IntegrityError as exc:
        raise Conflict("Another round of this project was scheduled at the same moment.", code="round_active") from exc
    if start_at is None or start_at <= timezone.now():
        round_start_enqueue(round_)
    return round_


def _plan(round_: TrainingRound, counts: dict) -> list[tuple[str, str]]:
    """(stage, reason to skip or "") for every stage of the round, decided on the snapshot."""
    cfg = round_.config
    plan = []
    # Older snapshots have no "demonstrations_new": every demonstration counted as new then.
    new = counts.get("demonstrations_new", counts["demonstrations_train"])
    if new >= cfg["min_demonstrations"]:
        plan.append((TrainingJob.Stage.SFT, ""))
    elif counts["demonstrations_train"] >= cfg["min_demonstrations"]:
        # Training the last SFT model again on what it has already learnt only overfits it.
        plan.append((TrainingJob.Stage.SFT, (
            f"Skipped: {new} demonstrations arrived since the last SFT checkpoint was trained, SFT needs "
            f"{cfg['min_demonstrations']} new ones; later stages continue from that checkpoint."
        )))
    else:
        plan.append((TrainingJob.Stage.SFT, (
            f"Skipped: {counts['demonstrations_train']} train demonstrations in the snapshot, SFT needs "
            f"{cfg['min_demonstrations']}; later stages start from the last SFT checkpoint (or the base model)."
        )))
    enough_rankings = counts["rankings_usable"] >= cfg["min_rankings"]
    too_few = (
        f"{counts['rankings_usable']} usable rankings in the snapshot (with at least one non-tied pair), "
        f"{cfg['min_rankings']} needed"
    )
    if cfg["algorithm"] == "ppo":
        plan.append((TrainingJob.Stage.REWARD, "" if enough_rankings else f"Skipped: {too_few}."))
        plan.append((TrainingJob.Stage.PPO, "" if enough_rankings else "Skipped: no reward model this round "
                     f"({too_few}); samples come from the SFT policy."))
    else:
        plan.append((TrainingJob.Stage.DPO, "" if enough_rankings else f"Skipped: {too_few}."))
    plan.append((TrainingJob.Stage.SAMPLE, ""))
    return plan


def _trained_demonstrations(project: Project) -> set[tuple[int, str]]:
    """(prompt id, text) of the demonstrations the project's last SFT checkpoint was trained on."""
    from training.services.stages import latest_checkpoint

    sft = latest_checkpoint(project, [Checkpoint.Stage.SFT])
    if sft is None or sft.snapshot is None:
        return set()
    return set(
        labeling_selectors.training_demonstrations(project=project, ids=sft.snapshot.demonstration_ids)
        .values_list("prompt_id", "text")
    )


def snapshot_freeze(*, project: Project) -> DataSnapshot:
    """Freeze the exact demonstrations and rankings a round trains on (ids, so nothing that
    arrives later changes what the round saw). Call inside a transaction.

    Demonstrations are counted by content: ``demonstrations_train`` distinct (prompt, text)
    pairs of train prompts, ``demonstrations_new`` those the last SFT checkpoint has not seen.
    """
    from training.services.stages import ranking_as_ranked_prompt

    demos = list(labeling_selectors.training_demonstrations(project=project).values_list("id", "prompt_id", "text", "prompt__split"))
    # Rankings stream in pages (with their entries): a big project's would not fit in memory as
    # model instances, and only their ids and whether each is usable are kept.
    ranking_ids, usable = [], 0
    for ranking in labeling_selectors.training_rankings(project=project).iterator(chunk_size=2000):
        ranking_ids.append(ranking.id)
        usable += ranking_as_ranked_prompt(ranking) is not None
    prompt_ids = list(labeling_selectors.prompts_for_sampling(project=project, split=Split.TRAIN).values_list("id", flat=True))
    distinct_train = {(prompt_id, text) for _, prompt_id, text, split in demos if split != Split.EVAL}
    counts = {
        "demonstrations": len(demos),
        "demonstrations_train": len(distinct_train),
        "demonstrations_new": len(distinct_train - _trained_demonstrations(project)),
        "rankings": len(ranking_ids),
        "rankings_usable": usable,
        "prompts": len(prompt_ids),
    }
    return DataSnapshot.objects.create(
        project=project, demonstration_ids=[d[0] for d in demos], ranking_ids=ranking_ids, prompt_ids=prompt_ids, counts=counts,
    )


@transaction.atomic
def round_start(*, round_id) -> TrainingRound | None:
    """Freeze the snapshot, plan the stage jobs and queue the first; a no-op unless the round
    is scheduled and due (so a duplicated start message does nothing)."""
    round_ = TrainingRound.objects.select_for_update().select_related("project").filter(id=round_id).first()
    if round_ is None or round_.status != Status.SCHEDULED:
        return None
    if round_.start_at and round_.start_at > timezone.now():
        return None
    snapshot = snapshot_freeze(project=round_.project)
    round_.snapshot = snapshot
    round_.status = Status.RUNNING
    round_.started_at = timezone.now()
    plan = _plan(round_, snapshot.counts)
    for order, (stage, skip) in enumerate(plan):
        TrainingJob.objects.create(
            round=round_, stage=stage, order=order, message=skip,
            status=TrainingJob.Status.SKIPPED if skip else TrainingJob.Status.QUEUED,
        )
    round_.message = f"Snapshot: {snapshot.counts['demonstrations']} demonstrations, {snapshot.counts['rankings']} rankings."
    round_.save()
    round_advance(round_=round_)
    return round_


def round_advance(*, round_: TrainingRound) -> None:
    """Queue the round's next job, or finish the round when none is left.

    Assumes the caller holds the lock of the job that just finished (or of the round).
    """
    jobs = list(round_.jobs.order_by("order"))
    if any(j.status == TrainingJob.Status.RUNNING for j in jobs):
        return
    next_job = next((j for j in jobs if j.status == TrainingJob.Status.QUEUED), None)
    if next_job is not None:
        job_enqueue(next_job)
        return
    done = [j for j in jobs if j.status == TrainingJob.Status.SUCCEEDED]
    TrainingRound.objects.filter(id=round_.id, status=Status.RUNNING).update(
        status=Status.SUCCEEDED, finished_at=timezone.now(),
        message=" ".join(f"{j.get_stage_display()}: {j.message}" for j in done if j.message)[:2000] or "Done.",
    )


def round_fail(*, round_: TrainingRound, message: str) -> None:
    """Mark the round failed (its remaining queued jobs stay queued for a retry)."""
    TrainingRound.objects.filter(id=round_.id, status=Status.RUNNING).update(
        status=Status.FAILED, finished_at=timezone.now(), message=message[:2000]
    )


def round_resume(*, round_: TrainingRound) -> None:
    """Put a failed or cancelled round back to running, for `job_retry`."""
    if round_.status == Status.RUNNING:
        return
    if round_.status not in (Status.FAILED, Status.CANCELLED):
        raise Conflict(f"Round {round_.number} is {round_.status}; only a failed or cancelled round can be retried.")
    if TrainingRound.objects.filter(project=round_.project, status__in=ACTIVE).exclude(id=round_.id).exists():
        raise Conflict("Another round of this project is scheduled or running; retry once it is done.", code="round_active")
    round_.status = Status.RUNNING
    round_.finished_at = None
    round_.message = "Retrying."
    round_.save(update_fields=["status", "finished_at", "message"])


@transaction.atomic
def round_cancel(*, round_id) -> TrainingRound:
    """Cancel a scheduled or running round. The running stage stops at its next step and keeps
    its resumable state (a retry continues from it); queued stages never start."""
    round_ = TrainingRound.objects.select_for_update().filter(id=round_id).first()
    if round_ is None:
        raise NotFound("No such round.")
    if round_.status not in ACTIVE:
        raise Conflict(f"Round {round_.number} is already {round_.status}.", code="round_not_active")
    round_.jobs.filter(status=TrainingJob.Status.RUNNING).update(cancel_requested=True)
    round_.jobs.filter(status=TrainingJob.Status.QUEUED).update(
        status=TrainingJob.Status.CANCELLED, message="Cancelled before it started.", finished_at=timezone.now()
    )
    running = round_.jobs.filter(status=TrainingJob.Status.RUNNING).exists()
    round_.status = Status.CANCELLED
    round_.finished_at = timezone.now()
    round_.message = "Cancelled; the running stage stops at its next step." if running else "Cancelled."
    round_.save(update_fields=["status", "finished_at", "message"])
    return round_


@transaction.atomic
def round_schedule_set(
    *, project: Project, every_hours: int | None, rankings_threshold: int | None, config: dict | None = None
) -> RoundSchedule:
    """Set when the project's rounds start on their own (None turns a trigger off)."""
    for name, value in (("every_hours", every_hours), ("rankings_threshold", rankings_threshold)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ApplicationError(f"{name} must be a positive integer or null.", details={"field": name})
    round_config_validate(config)
    schedule, _ = RoundSchedule.objects.update_or_create(
        project=project,
        defaults={"every_hours": every_hours, "rankings_threshold": rankings_threshold, "config": config or {}},
    )
    return schedule


def _due_trigger(schedule: RoundSchedule, now: datetime) -> str | None:
    last = TrainingRound.objects.filter(project=schedule.project).order_by("-number").first()
    since = (last.started_at or last.created_at) if last else schedule.updated_at
    if schedule.every_hours and since <= now - timedelta(hours=schedule.every_hours):
        return TrainingRound.Trigger.PERIODIC
    if schedule.rankings_threshold:
        # The first automatic round counts every ranking so far; later ones those since the last.
        since = (last.started_at or last.created_at) if last else datetime(2000, 1, 1, tzinfo=dt_timezone.utc)
        new = labeling_selectors.rankings_count_since(project=schedule.project, since=since)
        if new >= schedule.rankings_threshold:
            return TrainingRound.Trigger.RANKINGS
    return None


def rounds_tick() -> dict[str, int]:
    """The beat's minute: start scheduled rounds that are due, and schedule rounds whose
    project's periodic or "N new rankings" trigger fired."""
    now = timezone.now()
    started = created = 0
    for round_ in TrainingRound.objects.filter(status=Status.SCHEDULED, start_at__lte=now):
        with transaction.atomic():
            round_start_enqueue(round_)
        started += 1
    busy = set(TrainingRound.objects.filter(status__in=ACTIVE).values_list("project_id", flat=True))
    for schedule in RoundSchedule.objects.select_related("project").exclude(project_id__in=busy):
        trigger = _due_trigger(schedule, now)
        if trigger is None or not schedule.project.is_active:
            continue
        try:
            round_schedule(project=schedule.project, config=schedule.config, trigger=trigger)
            created += 1
        except (Conflict, ApplicationError) as exc:
            logger.warning("automatic round for %s not scheduled: %s", schedule.project, exc.message)
    return {"started": started, "scheduled": created}
