"""Reads of the training app. Querysets come with their joins applied; nothing here writes."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from config.errors import NotFound
from labeling.models import Project
from training.models import Checkpoint, RoundSchedule, TrainingJob, TrainingRound


def project_get(*, slug: str) -> Project:
    """The project with `slug`, or a 404."""
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound(f"No project with slug {slug!r}.")
    return project


def round_list(*, project: Project) -> QuerySet[TrainingRound]:
    """The project's rounds, newest first, with their jobs."""
    return (
        TrainingRound.objects.filter(project=project)
        .select_related("project", "snapshot", "scheduled_by")
        .prefetch_related(Prefetch("jobs", queryset=TrainingJob.objects.order_by("order")))
        .order_by("-number")
    )


def round_get(*, round_id: int) -> TrainingRound:
    """One round with its jobs and checkpoints, or a 404."""
    round_ = (
        TrainingRound.objects.select_related("project", "snapshot", "scheduled_by")
        .prefetch_related(Prefetch("jobs", queryset=TrainingJob.objects.order_by("order").select_related("checkpoint")))
        .filter(id=round_id)
        .first()
    )
    if round_ is None:
        raise NotFound("No such round.")
    return round_


def round_latest(*, project: Project) -> TrainingRound | None:
    """The project's newest round, with its jobs."""
    return round_list(project=project).first()


def round_schedule_get(*, project: Project) -> RoundSchedule | None:
    return RoundSchedule.objects.filter(project=project).first()


def checkpoint_list(*, project: Project | None = None) -> QuerySet[Checkpoint]:
    """Checkpoints (of one project when given), newest first, with their lineage joined."""
    qs = Checkpoint.objects.select_related("project", "round", "snapshot", "parent", "job")
    if project is not None:
        qs = qs.filter(project=project)
    return qs.order_by("-created_at")


def checkpoint_get(*, checkpoint_id) -> Checkpoint:
    checkpoint = checkpoint_list().filter(id=checkpoint_id).first()
    if checkpoint is None:
        raise NotFound("No such checkpoint.")
    return checkpoint


def checkpoint_lineage(*, checkpoint: Checkpoint) -> list[Checkpoint]:
    """The checkpoint and its ancestors, newest first, back to the base model."""
    chain, seen = [checkpoint], {checkpoint.id}
    while chain[-1].parent_id and chain[-1].parent_id not in seen:
        parent = checkpoint_list().get(id=chain[-1].parent_id)
        chain.append(parent)
        seen.add(parent.id)
    return chain


def _final(jobs: dict, stage: str, key: str):
    job = jobs.get(stage)
    checkpoint = getattr(job, "checkpoint", None) if job else None
    return checkpoint.metrics.get(key) if checkpoint else None


def round_metrics(*, project: Project) -> list[dict]:
    """Per round, the headline numbers of each stage (None where a stage did not run)."""
    rows = []
    rounds = (
        TrainingRound.objects.filter(project=project)
        .prefetch_related(Prefetch("jobs", queryset=TrainingJob.objects.select_related("checkpoint")))
        .order_by("number")
    )
    for round_ in rounds:
        jobs = {j.stage: j for j in round_.jobs.all()}
        rows.append(
            {
                "round": round_.number,
                "round_id": round_.id,
                "status": round_.status,
                "sft_eval_loss": _final(jobs, TrainingJob.Stage.SFT, "eval_loss"),
                "rm_accuracy": _final(jobs, TrainingJob.Stage.REWARD, "eval_accuracy"),
                "ppo_reward": _final(jobs, TrainingJob.Stage.PPO, "reward_mean"),
                "ppo_kl": _final(jobs, TrainingJob.Stage.PPO, "kl"),
                "dpo_accuracy": _final(jobs, TrainingJob.Stage.DPO, "eval_accuracy"),
                # Measured by the sample stage when the round has a reward model and eval prompts.
                "win_rate_vs_sft": _final(jobs, TrainingJob.Stage.PPO, "win_rate_vs_sft")
                if TrainingJob.Stage.PPO in jobs
                else _final(jobs, TrainingJob.Stage.DPO, "win_rate_vs_sft"),
            }
        )
    return rows
