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
from labeling.selectors import CLAIMABLE_SQL
from labeling.sql import hot_cursor, instance, param_datetime, param_json, read_datetime, read_json

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
  AND""" + CLAIMABLE_SQL + """
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
    params = {"project": project.pk, "kind": kind, "labeler": user.pk, "now": param_datetime(now)}
    params.update({f"x{i}": task_id for i, task_id in enumerate(exclude)})
    sql = _CANDIDATE_SQL.format(
        lock=lock,
        # Tasks this claim already found full; usually none, so usually no clause at all.
        exclude=f"\n  AND t.id NOT IN ({', '.join(f'%(x{i})s' for i in range(len(exclude)))})" if exclude else "",
    )
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


# Everything the claim needs to know about a task once its row is locked, in one statement
# (so one fresh READ COMMITTED snapshot): is it open, how many slots are free, do lapsed
# leases of others hold any, does this labeler have an old row for it.
_TASK_STATE = """
SELECT t.status = 'open' AS is_open,
  t.overlap - t.submitted_count - (
    SELECT count(*) FROM labeling_assignment a
    WHERE a.task_id = t.id AND a.status = 'active' AND a.expires_at > %(now)s) AS free,
  EXISTS (
    SELECT 1 FROM labeling_assignment a
    WHERE a.task_id = t.id AND a.status = 'active' AND a.expires_at <= %(now)s AND a.labeler_id <> %(labeler)s) AS lapsed_others,
  (SELECT a.id FROM labeling_assignment a WHERE a.task_id = t.id AND a.labeler_id = %(labeler)s) AS own_id,
  {samples} AS sample_ids
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
    expires_at = now + timedelta(seconds=project.lease_seconds)
    sql = _TASK_STATE.format(samples=_SAMPLES_POSTGRES if postgres else _SAMPLES_PORTABLE)
    with hot_cursor() as cursor:
        cursor.execute(sql, {"task": task_id, "labeler": user.pk, "now": param_datetime(now)})
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
    if own_id is not None:
        # The labeler's own lapsed lease on this task: the unique (task, labeler) row is reused.
        Assignment.objects.filter(pk=own_id).update(status=Assignment.Status.ACTIVE, expires_at=expires_at, shown_order=shown_order)
        return Assignment.objects.get(pk=own_id)
    return _insert_assignment(task_id=task_id, user=user, expires_at=expires_at, shown_order=shown_order, now=now)


_INSERT_SQL = """
INSERT INTO labeling_assignment (task_id, labeler_id, status, expires_at, created_at, skip_reason, shown_order, draft)
VALUES (%(task)s, %(labeler)s, 'active', %(expires_at)s, %(now)s, '', %(shown_order)s, '')
RETURNING id
"""


def _insert_assignment(*, task_id: int, user: AbstractBaseUser, expires_at, shown_order: list[int], now) -> Assignment:
    """Insert a new active lease in one statement (the hot path: no ORM query building) and
    return it as a model instance, as ``Assignment.objects.create`` would."""
    with hot_cursor() as cursor:
        cursor.execute(
            _INSERT_SQL,
            {
                "task": task_id, "labeler": user.pk, "expires_at": param_datetime(expires_at), "now": param_datetime(now),
                "shown_order": param_json(Assignment, "shown_order", shown_order),
            },
        )
        pk = cursor.fetchone()[0]
    assignment = Assignment(
        id=pk, task_id=task_id, labeler=user, status=Assignment.Status.ACTIVE, expires_at=expires_at,
        created_at=now, shown_order=shown_order,
    )
    assignment._state.adding = False
    assignment._state.db = connection.alias
    return assignment


# The labeler's live lease in a project, if any (uses the (labeler, status) index).
_HELD_SQL = """
SELECT a.id FROM labeling_assignment a JOIN labeling_task t ON t.id = a.task_id
WHERE a.labeler_id = %(labeler)s AND a.status = 'active' AND a.expires_at > %(now)s
  AND t.project_id = %(project)s AND t.kind IN ({kinds})
ORDER BY a.created_at, a.id
LIMIT 1
"""


def _held_assignment(*, user: AbstractBaseUser, project: Project, kinds: tuple[str, ...], now) -> Assignment | None:
    params = {"labeler": user.pk, "now": param_datetime(now), "project": project.pk}
    params.update({f"k{i}": kind for i, kind in enumerate(kinds)})
    sql = _HELD_SQL.format(kinds=", ".join(f"%(k{i})s" for i in range(len(kinds))))
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    # Rare (a reload while holding a lease): the ORM loads the whole row.
    return Assignment.objects.get(pk=row[0]) if row else None


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


# The common claim on PostgreSQL is one call of a function (labeling/migrations/0003): the
# held-lease check, the candidate lock and the lease, each statement with a fresh snapshot as
# in _claim_checked. It returns no row for whatever it leaves to _claim_checked.
_CLAIM_FUNCTION_SQL = (
    "SELECT * FROM labeling_claim_next(%s::bigint, %s::text[], %s::integer, %s::timestamptz, %s::timestamptz, %s::integer)"
)


def _claim_in_one_call(*, user: AbstractBaseUser, project: Project, kinds: tuple[str, ...], now) -> Assignment | None:
    expires_at = now + timedelta(seconds=project.lease_seconds)
    with hot_cursor() as cursor:
        cursor.execute(_CLAIM_FUNCTION_SQL, [project.pk, list(kinds), user.pk, now, expires_at, _MAX_CLAIM_ATTEMPTS])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, task_id, held, shown_order, created_at = row
    if held:
        return Assignment.objects.get(pk=pk)  # rare (a reload while holding a lease): the whole row
    assignment = instance(Assignment, {
        "id": pk, "task_id": task_id, "labeler_id": user.pk, "status": Assignment.Status.ACTIVE, "expires_at": expires_at,
        "created_at": created_at, "shown_order": read_json(shown_order), "draft": "", "draft_saved_at": None,
    })
    assignment.labeler = user
    return assignment


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
    if connection.vendor == "postgresql":
        assignment = _claim_in_one_call(user=user, project=project, kinds=kinds, now=now)
        if assignment is not None:
            return assignment
    return _claim_checked(user=user, project=project, kinds=kinds, now=now)


@transaction.atomic
def _claim_checked(*, user: AbstractBaseUser, project: Project, kinds: tuple[str, ...], now) -> Assignment | None:
    """Every claim on the portable path, and on PostgreSQL whatever the function left: wait
    for a locked task that may still have a slot, expire lapsed leases, reuse the labeler's
    own lapsed row, walk the other kinds, and only then say there is nothing."""
    held = _held_assignment(user=user, project=project, kinds=kinds, now=now)
    if held is not None:
        return held
    for each in kinds:
        assignment = _claim_kind(user=user, project=project, kind=each, now=now)
        if assignment is not None:
            return assignment
    return None


# The user's own assignment with the task and project fields a submit, heartbeat or skip
# needs, the assignment row locked (one statement; the hot path of every submit).
_OWN_LOCKED_SQL = """
SELECT a.id, a.task_id, a.labeler_id, a.status, a.expires_at, a.submitted_at, a.shown_order,
       t.project_id, t.prompt_id, t.kind, t.status, t.overlap, t.submitted_count, p.lease_seconds
FROM labeling_assignment a
JOIN labeling_task t ON t.id = a.task_id
JOIN labeling_project p ON p.id = t.project_id
WHERE a.id = %s AND a.labeler_id = %s
{lock}
"""


def assignment_get_own_locked(*, assignment_id: int, user: AbstractBaseUser) -> Assignment:
    """Lock and return the user's own assignment (its task and project loaded with the fields
    the queue needs; any other field loads on access). Someone else's is reported as not
    found, so ids do not reveal other labelers' work. Must run inside a transaction."""
    lock = "FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
    with hot_cursor() as cursor:
        cursor.execute(_OWN_LOCKED_SQL.format(lock=lock), [assignment_id, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such assignment.")
    (pk, task_id, labeler_id, status, expires_at, submitted_at, shown_order,
     project_id, prompt_id, kind, task_status, overlap, submitted_count, lease_seconds) = row
    assignment = instance(Assignment, {
        "id": pk, "task_id": task_id, "labeler_id": labeler_id, "status": status, "expires_at": read_datetime(expires_at),
        "submitted_at": read_datetime(submitted_at), "shown_order": read_json(shown_order),
    })
    task = instance(Task, {
        "id": task_id, "project_id": project_id, "prompt_id": prompt_id, "kind": kind, "status": task_status,
        "overlap": overlap, "submitted_count": submitted_count,
    })
    task.project = instance(Project, {"id": project_id, "lease_seconds": lease_seconds})
    assignment.task = task
    assignment.labeler = user
    return assignment


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
