"""The task queue: leases of tasks to labelers.

Invariants (see docs of :func:`assignment_claim_next`):

- a task never has more live leases (active and unexpired) plus submissions than its overlap;
- a labeler never gets the same task twice (unique (task, labeler));
- an expired lease returns its slot to the pool.

Every path that adds a live lease or a submission to a task holds that task's row lock
(``SELECT ... FOR UPDATE``) while it counts and writes, so the count cannot go stale.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from config.errors import ApplicationError, Conflict, NotFound
from labeling.models import Assignment, Project, Task

# Kind None asks for any work. Ranking comes first: ranking tasks carry the current policy's
# samples, and the next reward model can only learn from them while they are fresh;
# demonstrations of the same prompts stay useful for any later round.
KIND_PREFERENCE = (Task.Kind.RANKING, Task.Kind.DEMONSTRATION)

# How many tasks one claim looks at before giving up on a very contended queue.
_MAX_CLAIM_ATTEMPTS = 50

# The candidate query. Tasks are walked along the partial index ``task_open_queue``
# (project, kind, priority, id WHERE status = 'open'); the two subqueries use the
# assignment indexes (task, labeler) and (task, status, expires_at).
_CANDIDATE_SQL = """
SELECT t.id
FROM labeling_task t
WHERE t.project_id = %(project)s AND t.kind = %(kind)s AND t.status = 'open'{exclude}
  AND NOT EXISTS (
    SELECT 1 FROM labeling_assignment mine
    WHERE mine.task_id = t.id AND mine.labeler_id = %(labeler)s
      AND mine.status IN ('active', 'submitted', 'skipped')
      AND NOT (mine.status = 'active' AND mine.expires_at <= %(now)s)
  )
  AND t.submitted_count + (
    SELECT count(*) FROM labeling_assignment live
    WHERE live.task_id = t.id AND live.status = 'active' AND live.expires_at > %(now)s
  ) < t.overlap
ORDER BY t.priority, t.id
LIMIT 1
{lock}
"""


def _live_leases(*, task_id: int, now, exclude_assignment_id: int | None = None) -> int:
    """Active, unexpired leases of a task. The caller holds the task's row lock, and this runs
    as its own statement so that it sees every lease committed before the lock was taken."""
    qs = Assignment.objects.filter(task_id=task_id, status=Assignment.Status.ACTIVE, expires_at__gt=now)
    if exclude_assignment_id is not None:
        qs = qs.exclude(pk=exclude_assignment_id)
    return qs.count()


def _lock_candidate(*, project: Project, kind: str, user: AbstractBaseUser, now, exclude: list[int], skip_locked: bool) -> int | None:
    lock = ""
    if connection.features.has_select_for_update:
        lock = "FOR UPDATE OF t SKIP LOCKED" if skip_locked else "FOR UPDATE OF t"
    # (SQLite, the embedded default, has no row locks: it serializes writers itself.)
    params = {"project": project.pk, "kind": kind, "labeler": user.pk, "now": _db_now(now)}
    params.update({f"x{i}": task_id for i, task_id in enumerate(exclude)})
    sql = _CANDIDATE_SQL.format(
        lock=lock,
        # Tasks this claim already found full; usually none, so usually no clause at all.
        exclude=f"\n  AND t.id NOT IN ({', '.join(f'%(x{i})s' for i in range(len(exclude)))})" if exclude else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _db_now(now):
    """``now`` as the database compares it in raw SQL (SQLite stores datetimes as text)."""
    return connection.ops.adapt_datetimefield_value(now)


# Everything the claim needs to know about a task once its row is locked, in one statement
# (so one fresh READ COMMITTED snapshot): is it open, how many slots are free, do lapsed
# leases of others hold any, does this labeler have an old row for it, and its samples.
_LOCKED_TASK_SQL = """
SELECT t.status = 'open',
  t.overlap - t.submitted_count - (
    SELECT count(*) FROM labeling_assignment a
    WHERE a.task_id = t.id AND a.status = 'active' AND a.expires_at > %(now)s),
  EXISTS (
    SELECT 1 FROM labeling_assignment a
    WHERE a.task_id = t.id AND a.status = 'active' AND a.expires_at <= %(now)s AND a.labeler_id <> %(labeler)s),
  (SELECT a.id FROM labeling_assignment a WHERE a.task_id = t.id AND a.labeler_id = %(labeler)s),
  {samples}
FROM labeling_task t WHERE t.id = %(task)s
"""
_SAMPLES_POSTGRES = "ARRAY(SELECT ts.sample_id FROM labeling_tasksample ts WHERE ts.task_id = t.id ORDER BY ts.position)"
_SAMPLES_PORTABLE = (
    "(SELECT json_group_array(sample_id) FROM "
    "(SELECT ts.sample_id FROM labeling_tasksample ts WHERE ts.task_id = t.id ORDER BY ts.position))"
)


def _lease(*, task_id: int, user: AbstractBaseUser, project: Project, now) -> Assignment | None:
    """Lease a locked task to ``user`` if it still has a free slot, else return None.
    Assumes the task row lock (taken by the candidate query)."""
    postgres = connection.vendor == "postgresql"
    sql = _LOCKED_TASK_SQL.format(samples=_SAMPLES_POSTGRES if postgres else _SAMPLES_PORTABLE)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"task": task_id, "labeler": user.pk, "now": _db_now(now)})
        is_open, free, lapsed_others, own_id, sample_ids = cursor.fetchone()
    if not postgres:
        sample_ids = json.loads(sample_ids or "[]")
    if not is_open or free <= 0:
        return None
    if free == 1 and lapsed_others:
        # This lease takes the task's last slot: lapsed leases of others lose it for good,
        # and their late submits get a 409.
        Assignment.objects.filter(task_id=task_id, status=Assignment.Status.ACTIVE, expires_at__lte=now).exclude(
            labeler=user
        ).update(status=Assignment.Status.EXPIRED)
    shown_order = list(sample_ids)
    # A per-labeler shuffle (empty for demonstrations), stored so position bias can be measured.
    random.SystemRandom().shuffle(shown_order)
    expires_at = now + timedelta(seconds=project.lease_seconds)
    if own_id is not None:
        # The labeler's own lapsed lease on this task: the unique (task, labeler) row is reused.
        Assignment.objects.filter(pk=own_id).update(status=Assignment.Status.ACTIVE, expires_at=expires_at, shown_order=shown_order)
        return Assignment.objects.get(pk=own_id)
    return Assignment.objects.create(task_id=task_id, labeler=user, expires_at=expires_at, shown_order=shown_order)


def _claim_kind(*, user: AbstractBaseUser, project: Project, kind: str, now) -> Assignment | None:
    exclude: list[int] = []
    for _ in range(_MAX_CLAIM_ATTEMPTS):
        task_id = _lock_candidate(project=project, kind=kind, user=user, now=now, exclude=exclude, skip_locked=True)
        if task_id is None:
            # Nothing unlocked is free. A task locked by a concurrent claimer may still have a
            # free slot (overlap > 1, or that claimer takes something else): wait for it rather
            # than report an empty queue.
            task_id = _lock_candidate(project=project, kind=kind, user=user, now=now, exclude=exclude, skip_locked=False)
            if task_id is None:
                return None
        assignment = _lease(task_id=task_id, user=user, project=project, now=now)
        if assignment is not None:
            return assignment
        exclude.append(task_id)
    raise Conflict("The queue is very busy right now; try again in a moment.", code="queue_busy")


@transaction.atomic
def assignment_claim_next(*, user: AbstractBaseUser, project: Project, kind: str | None = None) -> Assignment | None:
    """Lease the next task of ``project`` to ``user``, or return None when there is nothing the
    user may take. ``kind`` None means any kind, rankings first (see KIND_PREFERENCE).

    If the user already holds a live lease in this project (and kind), that assignment is
    returned instead of a new one: reloading the page must not eat another task.
    """
    if kind is not None and kind not in Task.Kind.values:
        raise ApplicationError(f"Unknown task kind {kind!r}; use demonstration or ranking.", details={"field": "kind"})
    if not project.is_active:
        raise NotFound("This project is not active.")
    now = timezone.now()
    kinds = (kind,) if kind else KIND_PREFERENCE
    held = (
        Assignment.objects.filter(
            labeler=user, task__project=project, task__kind__in=kinds, status=Assignment.Status.ACTIVE, expires_at__gt=now
        )
        .order_by("created_at")
        .first()
    )
    if held is not None:
        return held
    for each in kinds:
        assignment = _claim_kind(user=user, project=project, kind=each, now=now)
        if assignment is not None:
            return assignment
    return None


def assignment_get_own_locked(*, assignment_id: int, user: AbstractBaseUser) -> Assignment:
    """Lock and return the user's own assignment. Someone else's is reported as not found, so
    ids do not reveal other labelers' work. Must run inside a transaction."""
    try:
        return (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("task", "task__project")
            .get(pk=assignment_id, labeler=user)
        )
    except Assignment.DoesNotExist as exc:
        raise NotFound("No such assignment.") from exc


def assignment_revive_or_conflict(*, assignment: Assignment, now) -> None:
    """An expired lease is still honoured while nobody has taken its slot: renew it, or raise
    Conflict (409). Assumes the assignment row lock; takes the task row lock."""
    task = Task.objects.select_for_update().only("submitted_count", "overlap", "status").get(pk=assignment.task_id)
    others = _live_leases(task_id=task.pk, now=now, exclude_assignment_id=assignment.pk)
    if task.status != Task.Status.OPEN or task.submitted_count + others >= task.overlap:
        # No status write here: the Conflict rolls the transaction back. The claim that took
        # the slot has already marked this lease expired.
        raise Conflict(
            "Your lease on this task expired and another labeler has taken it since. "
            "Your answer was not saved; ask for the next task.",
            code="lease_expired",
        )
    assignment.expires_at = now + timedelta(seconds=assignment.task.project.lease_seconds)
    assignment.save(update_fields=["expires_at"])


def _check_active(assignment: Assignment, now) -> None:
    if assignment.status == Assignment.Status.EXPIRED:
        raise Conflict("This lease expired and the task went to someone else; ask for the next task.", code="lease_expired")
    if assignment.status != Assignment.Status.ACTIVE:
        raise Conflict(f"This assignment is already {assignment.status}.", code=f"assignment_{assignment.status}")
    if assignment.expires_at <= now:
        assignment_revive_or_conflict(assignment=assignment, now=now)


@transaction.atomic
def assignment_heartbeat(*, assignment_id: int, user: AbstractBaseUser) -> Assignment:
    """Extend the user's own active lease by the project's lease length."""
    now = timezone.now()
    assignment = assignment_get_own_locked(assignment_id=assignment_id, user=user)
    _check_active(assignment, now)
    assignment.status = Assignment.Status.ACTIVE
    assignment.expires_at = now + timedelta(seconds=assignment.task.project.lease_seconds)
    assignment.save(update_fields=["status", "expires_at"])
    return assignment


@transaction.atomic
def assignment_draft_save(*, assignment_id: int, user: AbstractBaseUser, text: str) -> Assignment:
    """Keep a demonstration draft on the server (own, active assignments only)."""
    now = timezone.now()
    assignment = assignment_get_own_locked(assignment_id=assignment_id, user=user)
    if assignment.task.kind != Task.Kind.DEMONSTRATION:
        raise ApplicationError("Only demonstration tasks have drafts.", details={"field": "text"})
    if not isinstance(text, str):
        raise ApplicationError("text must be a string.", details={"field": "text"})
    limit = settings.LABELING["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise ApplicationError(f"text is {len(text)} characters long; the limit is {limit}.", details={"field": "text"})
    _check_active(assignment, now)
    assignment.draft = text
    assignment.draft_saved_at = now
    assignment.save(update_fields=["draft", "draft_saved_at"])
    return assignment


@transaction.atomic
def assignment_skip(*, assignment_id: int, user: AbstractBaseUser, reason: str = "") -> Assignment:
    """Give a task back. Its slot returns to the pool; this labeler will not be offered it again."""
    assignment = assignment_get_own_locked(assignment_id=assignment_id, user=user)
    if assignment.status == Assignment.Status.SKIPPED:
        return assignment
    if assignment.status == Assignment.Status.SUBMITTED:
        raise Conflict("This assignment is already submitted; it cannot be skipped.", code="assignment_submitted")
    assignment.status = Assignment.Status.SKIPPED
    assignment.skip_reason = (reason or "")[:500]
    assignment.save(update_fields=["status", "skip_reason"])
    return assignment
