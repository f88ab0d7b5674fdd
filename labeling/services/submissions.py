"""Submitting work: demonstrations and rankings, exactly once per assignment."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import ApplicationError, Conflict
from labeling.models import Assignment, Demonstration, Flag, Ranking, RankingEntry, Sample, Task, TaskSample
from labeling.services.assignments import assignment_get_own_locked, assignment_revive_or_conflict
from labeling.sql import hot_cursor, instance, param_datetime, param_json, read_json

MAX_TIME_SPENT_MS = 2**31 - 1
MAX_IDEMPOTENCY_KEY = 100


@dataclass(frozen=True)
class SubmitResult:
    """What a submit produced. ``created`` is False for a replay of an earlier submit."""

    assignment: Assignment
    submission: Demonstration | Ranking
    created: bool

    @property
    def kind(self) -> str:
        return Task.Kind.DEMONSTRATION if isinstance(self.submission, Demonstration) else Task.Kind.RANKING


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, details={"field": field})


def _check_common(*, time_spent_ms: Any, idempotency_key: str | None) -> None:
    if isinstance(time_spent_ms, bool) or not isinstance(time_spent_ms, int) or not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS:
        raise _field_error("time_spent_ms", "time_spent_ms must be a whole number of milliseconds, 0 or more.")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise _field_error("Idempotency-Key", f"The Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.")


def _replay(*, assignment: Assignment, user: AbstractBaseUser, model: type[Demonstration] | type[Ranking], idempotency_key: str | None) -> SubmitResult | None:
    """The earlier result of this submit, if there was one. Assumes the assignment row lock."""
    if idempotency_key is not None:
        earlier = model.objects.filter(labeler=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if earlier.assignment_id != assignment.pk:
                raise Conflict(
                    "This Idempotency-Key was already used for another assignment; send a new key for new work.",
                    code="idempotency_key_reused",
                )
            return SubmitResult(assignment=assignment, submission=earlier, created=False)
    if assignment.status == Assignment.Status.SUBMITTED:
        earlier = model.objects.filter(assignment=assignment).first()
        if earlier is not None:
            return SubmitResult(assignment=assignment, submission=earlier, created=False)
    return None


def _open_for_submit(*, assignment: Assignment, kind: str, now) -> None:
    if assignment.task.kind != kind:
        raise ApplicationError(
            f"This assignment is a {assignment.task.kind} task; send a {assignment.task.kind} submission.",
            code="wrong_kind",
        )
    if assignment.status == Assignment.Status.SKIPPED:
        raise Conflict("You skipped this task; it can no longer be submitted.", code="assignment_skipped")
    if assignment.status == Assignment.Status.EXPIRED:
        raise Conflict(
            "Your lease on this task expired and another labeler has taken it since. "
            "Your answer was not saved; ask for the next task.",
            code="lease_expired",
        )
    if assignment.expires_at <= now:
        assignment_revive_or_conflict(assignment=assignment, now=now)


_COMPLETE_ASSIGNMENT_SQL = "UPDATE labeling_assignment SET status = 'submitted', submitted_at = %(now)s WHERE id = %(assignment)s"
# One UPDATE: the old count decides whether this submission closes the task.
_COUNT_ON_TASK_SQL = """
UPDATE labeling_task SET submitted_count = submitted_count + 1,
  status = CASE WHEN submitted_count >= overlap - 1 THEN 'complete' ELSE status END
WHERE id = %(task)s
"""


def _complete(*, assignment: Assignment, now) -> None:
    """Mark the assignment submitted and count it on its task, closing the task when its
    overlap is reached."""
    with hot_cursor() as cursor:
        params = {"now": param_datetime(now), "assignment": assignment.pk, "task": assignment.task_id}
        cursor.execute(_COMPLETE_ASSIGNMENT_SQL, params)
        cursor.execute(_COUNT_ON_TASK_SQL, params)
    assignment.status = Assignment.Status.SUBMITTED
    assignment.submitted_at = now


_INSERT_RANKING_SQL = """
INSERT INTO labeling_ranking (assignment_id, task_id, labeler_id, "order", none_acceptable, shown_order, time_spent_ms, idempotency_key, created_at)
VALUES (%(assignment)s, %(task)s, %(labeler)s, %(order)s, %(none_acceptable)s, %(shown_order)s, %(time_spent_ms)s, %(key)s, %(now)s)
RETURNING id
"""

# On PostgreSQL the common submit is one statement, run as its own transaction: lock the
# labeler's live lease of a ranking task whose shown samples are exactly the ranked ones, store
# the ranking and its entries, mark the assignment submitted and count it on the task (each
# data-modifying CTE runs once). A concurrent submit of the same assignment waits for the row
# lock and then finds it no longer active. When no row comes back (or a unique constraint
# fires), the checked path below finds out why: a replay, an expired lease, a wrong sample.
_SUBMIT_RANKING_POSTGRES_SQL = """
WITH lease AS (
  SELECT a.id, a.task_id, a.shown_order FROM labeling_assignment a JOIN labeling_task t ON t.id = a.task_id
  WHERE a.id = %(assignment)s AND a.labeler_id = %(labeler)s AND a.status = 'active' AND a.expires_at > %(now)s
    AND t.kind = 'ranking' AND a.shown_order @> %(ranked)s::jsonb AND jsonb_array_length(a.shown_order) = %(n)s
  FOR UPDATE OF a
), ranking AS (
  INSERT INTO labeling_ranking (assignment_id, task_id, labeler_id, "order", none_acceptable, shown_order, time_spent_ms, idempotency_key, created_at)
  SELECT lease.id, lease.task_id, %(labeler)s, %(order)s, %(none_acceptable)s, lease.shown_order, %(time_spent_ms)s, %(key)s, %(now)s
  FROM lease
  RETURNING id, assignment_id, task_id, shown_order
), entries AS (
  INSERT INTO labeling_rankingentry (ranking_id, sample_id, rank, score, flags)
  SELECT ranking.id, e.sample_id, e.rank, e.score, e.flags::jsonb
  FROM ranking, unnest(%(sample_ids)s::bigint[], %(ranks)s::smallint[], %(scores)s::smallint[], %(flags)s::text[])
    AS e(sample_id, rank, score, flags)
), submitted AS (
  UPDATE labeling_assignment SET status = 'submitted', submitted_at = %(now)s WHERE id IN (SELECT assignment_id FROM ranking)
), counted AS (
  -- As _COUNT_ON_TASK_SQL: the old count decides whether this submission closes the task.
  UPDATE labeling_task SET submitted_count = submitted_count + 1,
    status = CASE WHEN submitted_count >= overlap - 1 THEN 'complete' ELSE status END
  WHERE id IN (SELECT task_id FROM ranking)
)
SELECT id, task_id, shown_order FROM ranking
"""


def _entries(order: list[list[int]], scores: dict[int, int], flags: dict[int, list[str]]) -> list[tuple[int, int, int, list[str]]]:
    """(sample id, rank, score, flags) per ranked sample; tied samples share a rank."""
    return [
        (sample_id, rank, scores[sample_id], flags.get(sample_id, []))
        for rank, group in enumerate(order, start=1)
        for sample_id in group
    ]


def _ranking(*, ranking_id: int, assignment: Assignment, user: AbstractBaseUser, order: list[list[int]], shown_order: list[int],
             none_acceptable: bool, time_spent_ms: int, idempotency_key: str | None, now) -> Ranking:
    """The stored ranking as a model instance, as ``Ranking.objects.create`` would return it."""
    ranking = Ranking(
        id=ranking_id, assignment=assignment, task_id=assignment.task_id, labeler=user, order=order,
        none_acceptable=none_acceptable, shown_order=shown_order, time_spent_ms=time_spent_ms,
        idempotency_key=idempotency_key, created_at=now,
    )
    ranking._state.adding = False
    ranking._state.db = connection.alias
    return ranking


def _store_ranking(
    *, assignment: Assignment, user: AbstractBaseUser, order: list[list[int]], scores: dict[int, int],
    flags: dict[int, list[str]], none_acceptable: bool, time_spent_ms: int, idempotency_key: str | None, now,
) -> Ranking:
    """Store the ranking and its per-sample entries and complete the assignment (see
    :func:`_complete`), in plain statements that every database runs. Assumes the assignment
    row lock. (On PostgreSQL most submits take :func:`_submit_ranking_in_one_statement`.)"""
    shown_order = list(assignment.shown_order)
    entries = _entries(order, scores, flags)
    params = {
        "assignment": assignment.pk, "task": assignment.task_id, "labeler": user.pk,
        "order": param_json(Ranking, "order", order), "none_acceptable": none_acceptable,
        "shown_order": param_json(Ranking, "shown_order", shown_order), "time_spent_ms": time_spent_ms,
        "key": idempotency_key, "now": param_datetime(now),
    }
    with hot_cursor() as cursor:
        cursor.execute(_INSERT_RANKING_SQL, params)
        ranking_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO labeling_rankingentry (ranking_id, sample_id, rank, score, flags) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s)"] * len(entries)),
            [v for sample_id, rank, score, f in entries
             for v in (ranking_id, sample_id, rank, score, param_json(RankingEntry, "flags", f))],
        )
    _complete(assignment=assignment, now=now)
    return _ranking(
        ranking_id=ranking_id, assignment=assignment, user=user, order=order, shown_order=shown_order,
        none_acceptable=none_acceptable, time_spent_ms=time_spent_ms, idempotency_key=idempotency_key, now=now,
    )


def _submit_ranking_in_one_statement(
    *, assignment_id: int, user: AbstractBaseUser, order: Any, scores: Any, flags: Any, none_acceptable: Any,
    time_spent_ms: int, idempotency_key: str | None, now,
) -> SubmitResult | None:
    """The common ranking submit on PostgreSQL: a live lease, a well-formed ranking of exactly
    its samples, no earlier submit. One statement (see ``_SUBMIT_RANKING_POSTGRES_SQL``), with
    no transaction of its own to open and commit. Returns None, having written nothing, for
    anything else; the checked path then answers."""
    if not (isinstance(order, list) and all(isinstance(group, list) for group in order)):
        return None
    ranked = [sample_id for group in order for sample_id in group]
    if not all(type(sample_id) is int for sample_id in ranked):
        return None
    try:
        clean_order, clean_scores, clean_flags = _validate_ranking(
            sample_ids=ranked, order=order, scores=scores, flags=flags, none_acceptable=none_acceptable
        )
    except ApplicationError:
        return None  # the checked path names the problem against the task's own samples
    entries = _entries(clean_order, clean_scores, clean_flags)
    params = {
        "assignment": assignment_id, "labeler": user.pk, "now": param_datetime(now),
        "ranked": json.dumps(ranked), "n": len(ranked),
        "order": param_json(Ranking, "order", clean_order), "none_acceptable": none_acceptable,
        "time_spent_ms": time_spent_ms, "key": idempotency_key,
        "sample_ids": [e[0] for e in entries], "ranks": [e[1] for e in entries],
        "scores": [e[2] for e in entries], "flags": [json.dumps(e[3]) for e in entries],
    }
    try:
        # Inside a caller's transaction, a savepoint keeps a constraint error from aborting it.
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            with hot_cursor() as cursor:
                cursor.execute(_SUBMIT_RANKING_POSTGRES_SQL, params)
                row = cursor.fetchone()
    except IntegrityError:
        return None  # an earlier submit with this Idempotency-Key: the checked path replays it
    if row is None:
        return None
    ranking_id, task_id, shown_order = row
    assignment = instance(Assignment, {
        "id": assignment_id, "task_id": task_id, "labeler_id": user.pk, "status": Assignment.Status.SUBMITTED,
        "submitted_at": now, "shown_order": read_json(shown_order),
    })
    assignment.labeler = user
    ranking = _ranking(
        ranking_id=ranking_id, assignment=assignment, user=user, order=clean_order, shown_order=assignment.shown_order,
        none_acceptable=none_acceptable, time_spent_ms=time_spent_ms, idempotency_key=idempotency_key, now=now,
    )
    return SubmitResult(assignment=assignment, submission=ranking, created=True)


@transaction.atomic
def assignment_submit_demonstration(
    *,
    assignment_id: int,
    user: AbstractBaseUser,
    text: Any,
    time_spent_ms: Any = 0,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Store the labeler's demonstration, once. A retry (same assignment, or same
    Idempotency-Key) returns the first result. The text also becomes a Sample
    (origin=demonstration) that later ranking tasks can show."""
    _check_common(time_spent_ms=time_spent_ms, idempotency_key=idempotency_key)
    now = timezone.now()
    assignment = assignment_get_own_locked(assignment_id=assignment_id, user=user)
    replay = _replay(assignment=assignment, user=user, model=Demonstration, idempotency_key=idempotency_key)
    if replay is not None:
        return replay
    if not isinstance(text, str) or not text.strip():
        raise _field_error("text", "text must not be empty.")
    limit = settings.LABELING["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise _field_error("text", f"text is {len(text)} characters long; the limit is {limit}.")
    _open_for_submit(assignment=assignment, kind=Task.Kind.DEMONSTRATION, now=now)
    # No savepoint: on a constraint error the Conflict below rolls the whole submit back.
    try:
        demonstration = Demonstration.objects.create(
            assignment=assignment, prompt_id=assignment.task.prompt_id, labeler=user, text=text,
            time_spent_ms=time_spent_ms, idempotency_key=idempotency_key,
        )
    except IntegrityError as exc:
        # The same key raced in through another assignment; the constraint kept one row.
        raise Conflict("This Idempotency-Key was already used; send a new key for new work.", code="idempotency_key_reused") from exc
    Sample.objects.create(prompt_id=assignment.task.prompt_id, text=text, origin=Sample.Origin.DEMONSTRATION, demonstration=demonstration)
    _complete(assignment=assignment, now=now)
    return SubmitResult(assignment=assignment, submission=demonstration, created=True)


def _validate_ranking(
    *, sample_ids: list[int], order: Any, scores: Any, flags: Any, none_acceptable: Any
) -> tuple[list[list[int]], dict[int, int], dict[int, list[str]]]:
    """Check a ranking against the task's samples; return (order, scores, flags) keyed by id."""
    expected = set(sample_ids)
    if not isinstance(order, list) or not order:
        raise _field_error("order", "order must be a list of groups of sample ids, best first.")
    seen: set[int] = set()
    clean_order: list[list[int]] = []
    for group in order:
        if not isinstance(group, list) or not group:
            raise _field_error("order", "Each group in order must be a non-empty list of sample ids (a group of several is a tie).")
        clean_group = []
        for sample_id in group:
            if isinstance(sample_id, bool) or not isinstance(sample_id, int):
                raise _field_error("order", f"{sample_id!r} is not a sample id.")
            if sample_id not in expected:
                raise _field_error("order", f"Sample {sample_id} is not one of this task's samples.")
            if sample_id in seen:
                raise _field_error("order", f"Sample {sample_id} appears more than once in order.")
            seen.add(sample_id)
            clean_group.append(sample_id)
        clean_order.append(clean_group)
    missing = expected - seen
    if missing:
        raise _field_error("order", f"order is missing samples {sorted(missing)}; rank every sample once.")

    if not isinstance(scores, dict):
        raise _field_error("scores", "scores must map every sample id to a score from 1 to 7.")
    clean_scores: dict[int, int] = {}
    for key, value in scores.items():
        try:
            sample_id = int(key)
        except (TypeError, ValueError):
            raise _field_error("scores", f"{key!r} is not a sample id.") from None
        if sample_id not in expected:
            raise _field_error("scores", f"Sample {sample_id} is not one of this task's samples.")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7:
            raise _field_error("scores", f"The score of sample {sample_id} must be a whole number from 1 to 7.")
        clean_scores[sample_id] = value
    unscored = expected - set(clean_scores)
    if unscored:
        raise _field_error("scores", f"Samples {sorted(unscored)} have no score; score every sample from 1 to 7.")

    if flags is None:
        flags = {}
    if not isinstance(flags, dict):
        raise _field_error("flags", "flags must map sample ids to lists of flags.")
    clean_flags: dict[int, list[str]] = {}
    for key, values in flags.items():
        try:
            sample_id = int(key)
        except (TypeError, ValueError):
            raise _field_error("flags", f"{key!r} is not a sample id.") from None
        if sample_id not in expected:
            raise _field_error("flags", f"Sample {sample_id} is not one of this task's samples.")
        if not isinstance(values, list) or any(v not in Flag.values for v in values):
            raise _field_error("flags", f"Flags of sample {sample_id} must be a list drawn from: {', '.join(Flag.values)}.")
        clean_flags[sample_id] = sorted(set(values))
    if not isinstance(none_acceptable, bool):
        raise _field_error("none_acceptable", "none_acceptable must be true or false.")
    return clean_order, clean_scores, clean_flags


def assignment_submit_ranking(
    *,
    assignment_id: int,
    user: AbstractBaseUser,
    order: Any,
    scores: Any,
    flags: Any = None,
    none_acceptable: Any = False,
    time_spent_ms: Any = 0,
    idempotency_key: str | None = None,
) -> SubmitResult:
    """Store the labeler's ranking, once: ``order`` lists groups of sample ids best first
    (a group of several is a tie), ``scores`` gives each sample 1-7, ``flags`` lists
    :class:`Flag` values per sample. A retry returns the first result."""
    _check_common(time_spent_ms=time_spent_ms, idempotency_key=idempotency_key)
    now = timezone.now()
    if connection.vendor == "postgresql":
        result = _submit_ranking_in_one_statement(
            assignment_id=assignment_id, user=user, order=order, scores=scores, flags=flags,
            none_acceptable=none_acceptable, time_spent_ms=time_spent_ms, idempotency_key=idempotency_key, now=now,
        )
        if result is not None:
            return result
    return _submit_ranking_checked(
        assignment_id=assignment_id, user=user, order=order, scores=scores, flags=flags,
        none_acceptable=none_acceptable, time_spent_ms=time_spent_ms, idempotency_key=idempotency_key, now=now,
    )


@transaction.atomic
def _submit_ranking_checked(
    *, assignment_id: int, user: AbstractBaseUser, order: Any, scores: Any, flags: Any, none_acceptable: Any,
    time_spent_ms: int, idempotency_key: str | None, now,
) -> SubmitResult:
    """Every ranking submit on the portable path, and on PostgreSQL whatever the one statement
    did not take: lock the assignment, replay an earlier submit, revive an expired lease,
    check the ranking against the task's samples with a message naming the problem."""
    assignment = assignment_get_own_locked(assignment_id=assignment_id, user=user)
    replay = _replay(assignment=assignment, user=user, model=Ranking, idempotency_key=idempotency_key)
    if replay is not None:
        return replay
    if assignment.task.kind != Task.Kind.RANKING:
        _open_for_submit(assignment=assignment, kind=Task.Kind.RANKING, now=now)
    sample_ids = list(assignment.shown_order) or list(
        TaskSample.objects.filter(task_id=assignment.task_id).values_list("sample_id", flat=True)
    )
    clean_order, clean_scores, clean_flags = _validate_ranking(
        sample_ids=sample_ids, order=order, scores=scores, flags=flags, none_acceptable=none_acceptable
    )
    _open_for_submit(assignment=assignment, kind=Task.Kind.RANKING, now=now)
    # No savepoint: on a constraint error the Conflict below rolls the whole submit back.
    try:
        ranking = _store_ranking(
            assignment=assignment, user=user, order=clean_order, scores=clean_scores, flags=clean_flags,
            none_acceptable=none_acceptable, time_spent_ms=time_spent_ms, idempotency_key=idempotency_key, now=now,
        )
    except IntegrityError as exc:
        raise Conflict(
            "This task or this Idempotency-Key already has a ranking from you; send a new key for new work.",
            code="already_ranked",
        ) from exc
    return SubmitResult(assignment=assignment, submission=ranking, created=True)
