"""The next-task and submit hot path: raw SQL that must agree with the ORM it replaced.

- the one-query payload has exactly the shape and values of the API's AssignmentOutput (which the
  assignment list and detail endpoints serialize through the ORM);
- a ranking submit writes the same rows through its single PostgreSQL statement and through
  the checked, portable statements the embedded SQLite default uses (both run here, on
  PostgreSQL); anything the one statement does not take falls through to the checked path;
- token authentication loads the user's roles in the same query, and refuses bad tokens.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from labeling import selectors
from labeling.api.serializers import AssignmentOutput
from labeling.models import Assignment, Ranking, RankingEntry, Task
from labeling.roles import ADMIN, LABELER
from labeling.services import assignment_claim_next, assignment_skip
from labeling.services.assignments import assignment_get_own_locked
from labeling.services.submissions import _store_ranking, _submit_ranking_in_one_statement
from tests.factories import DemonstrationTaskFactory, RankingTaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _rendered(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.mark.parametrize("kind", ["ranking", "demonstration"])
def test_payload_matches_the_serializer(project, labeler, kind):
    (RankingTaskFactory if kind == "ranking" else DemonstrationTaskFactory)(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    assert _rendered(selectors.assignment_payload(assignment_id=assignment.pk)) == _rendered(
        AssignmentOutput(selectors.assignment_get_for_user(assignment_id=assignment.pk, user=labeler)).data
    )
    stored = Assignment.objects.get(pk=assignment.pk)
    assert (assignment.shown_order, assignment.expires_at, assignment.created_at) == (stored.shown_order, stored.expires_at, stored.created_at)
    if kind == "ranking":
        assert sorted(stored.shown_order) == sorted(stored.task.task_samples.values_list("sample_id", flat=True))

    Assignment.objects.filter(pk=assignment.pk).update(draft="half <b>written</b>", draft_saved_at=timezone.now())
    fast = selectors.assignment_payload(assignment_id=assignment.pk)
    orm = AssignmentOutput(selectors.assignment_get_for_user(assignment_id=assignment.pk, user=labeler)).data
    assert _rendered(fast) == _rendered(orm)
    if kind == "ranking":
        assert [s["label"] for s in fast["samples"]] == ["A", "B", "C", "D"]
        assert [s["id"] for s in fast["samples"]] == assignment.shown_order


def test_payload_of_a_skipped_assignment_matches_too(project, labeler):
    RankingTaskFactory(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    assignment_skip(assignment_id=assignment.pk, user=labeler, reason="unclear")
    fast = selectors.assignment_payload(assignment_id=assignment.pk)
    assert fast["status"] == "skipped"
    assert _rendered(fast) == _rendered(AssignmentOutput(selectors.assignment_get_for_user(assignment_id=assignment.pk, user=labeler)).data)


@pytest.mark.parametrize("single_statement", [True, False], ids=["postgres-statement", "portable-statements"])
@pytest.mark.parametrize("overlap", [1, 2])
def test_both_ranking_stores_write_the_same_rows(project, labeler, single_statement, overlap):
    task = RankingTaskFactory(project=project, overlap=overlap)
    claimed = assignment_claim_next(user=labeler, project=project)
    a, b, c, d = claimed.shown_order
    order = [[b], [a, c], [d]]  # a tie in the middle
    scores = {a: 5, b: 7, c: 5, d: 1}
    flags = {c: ["fails_instruction", "hallucination"]}
    now = timezone.now()
    if single_statement:
        # The API sends JSON: sample ids as object keys are strings.
        result = _submit_ranking_in_one_statement(
            assignment_id=claimed.pk, user=labeler, order=order, scores={str(k): v for k, v in scores.items()},
            flags={str(k): v for k, v in flags.items()}, none_acceptable=False, time_spent_ms=1234, idempotency_key="key-1", now=now,
        )
        assert result.created and result.assignment.status == Assignment.Status.SUBMITTED
        ranking = result.submission
    else:
        assignment = assignment_get_own_locked(assignment_id=claimed.pk, user=labeler)  # (the test runs in a transaction)
        ranking = _store_ranking(
            assignment=assignment, user=labeler, order=order, scores=scores, flags=flags,
            none_acceptable=False, time_spent_ms=1234, idempotency_key="key-1", now=now,
        )

    stored = Ranking.objects.get(pk=ranking.pk)
    assert (stored.order, stored.shown_order, stored.time_spent_ms, stored.idempotency_key) == (order, claimed.shown_order, 1234, "key-1")
    entries = {e.sample_id: (e.rank, e.score, e.flags) for e in RankingEntry.objects.filter(ranking=stored)}
    assert entries == {
        b: (1, 7, []), a: (2, 5, []), c: (2, 5, ["fails_instruction", "hallucination"]), d: (3, 1, []),
    }
    refreshed = Assignment.objects.get(pk=claimed.pk)
    assert refreshed.status == Assignment.Status.SUBMITTED and refreshed.submitted_at == now
    task.refresh_from_db()
    assert task.submitted_count == 1
    assert task.status == (Task.Status.COMPLETE if overlap == 1 else Task.Status.OPEN)


def test_the_one_statement_declines_what_it_cannot_take_and_writes_nothing(project, labeler):
    RankingTaskFactory(project=project)
    RankingTaskFactory(project=project)
    claimed = assignment_claim_next(user=labeler, project=project)
    a, b, c, d = claimed.shown_order
    other = UserFactory(roles=[LABELER])
    now = timezone.now()

    def attempt(*, order=None, user=labeler, key=None, when=now, assignment_id=claimed.pk):
        order = [[a], [b], [c], [d]] if order is None else order
        ids = [i for group in order if isinstance(group, list) for i in group if isinstance(i, int)]
        return _submit_ranking_in_one_statement(
            assignment_id=assignment_id, user=user, order=order, scores={str(i): 4 for i in ids}, flags={},
            none_acceptable=False, time_spent_ms=0, idempotency_key=key, now=when,
        )

    assert attempt(order=[[a], [b], [c]]) is None  # a sample missing
    assert attempt(order=[[a], [b], [c], [d], [d + 1000]]) is None  # a sample not in the task
    assert attempt(order=[[a], [b], [c], ["d"]]) is None  # not a sample id
    assert attempt(order=[[a], [b], [c], [[d]]]) is None  # nested too deep
    assert attempt(order=[a, b, c, d]) is None  # not groups
    assert attempt(user=other) is None  # someone else's assignment
    assert attempt(when=claimed.expires_at) is None  # the lease has lapsed: the checked path decides
    assert not Ranking.objects.exists()
    assert Assignment.objects.get(pk=claimed.pk).status == Assignment.Status.ACTIVE

    first = attempt(key="k1")
    assert first is not None and first.created
    assert attempt(key="k1") is None  # already submitted: the checked path replays it
    second = assignment_claim_next(user=labeler, project=project)
    a, b, c, d = second.shown_order
    # The key is already used (on another assignment): the unique constraint fires, the savepoint
    # keeps the test's transaction usable, and the checked path answers with a 409.
    assert attempt(key="k1", assignment_id=second.pk) is None
    assert Ranking.objects.count() == 1
    assert Assignment.objects.get(pk=second.pk).status == Assignment.Status.ACTIVE


def test_a_common_claim_is_one_function_call_and_the_rest_falls_through(project, labeler):
    tasks = [RankingTaskFactory(project=project) for _ in range(2)]
    demonstration = DemonstrationTaskFactory(project=project)
    with CaptureQueriesContext(connection) as ctx:
        first = assignment_claim_next(user=labeler, project=project, kind="ranking")
    assert [q["sql"].split("(")[0] for q in ctx.captured_queries] == ["SELECT * FROM labeling_claim_next"]
    assert first.task_id == tasks[0].pk and sorted(first.shown_order) == sorted(tasks[0].task_samples.values_list("sample_id", flat=True))
    # A reload hands back the held lease, from the same call.
    with CaptureQueriesContext(connection) as ctx:
        again = assignment_claim_next(user=labeler, project=project, kind="ranking")
    assert again.pk == first.pk and ctx.captured_queries[0]["sql"].startswith("SELECT * FROM labeling_claim_next")

    other = UserFactory(roles=[LABELER])
    second = assignment_claim_next(user=other, project=project, kind="ranking")
    assert second.task_id == tasks[1].pk
    # No ranking left for a third labeler: the function leaves it to the checked path, which
    # walks on to demonstrations.
    third = UserFactory(roles=[LABELER])
    assert assignment_claim_next(user=third, project=project, kind="ranking") is None
    assert assignment_claim_next(user=third, project=project).task_id == demonstration.pk

    # The labeler's own lapsed lease: the function leaves the row reuse to the checked path.
    Assignment.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    reclaimed = assignment_claim_next(user=labeler, project=project, kind="ranking")
    assert reclaimed.pk == first.pk and reclaimed.expires_at > timezone.now()


def test_locked_assignment_loads_what_the_queue_needs_in_one_query(project, labeler):
    RankingTaskFactory(project=project)
    claimed = assignment_claim_next(user=labeler, project=project)
    with CaptureQueriesContext(connection) as ctx:
        assignment = assignment_get_own_locked(assignment_id=claimed.pk, user=labeler)
        values = (assignment.status, assignment.expires_at, assignment.shown_order, assignment.task.kind,
                  assignment.task.prompt_id, assignment.task.project.lease_seconds)
    assert len(ctx.captured_queries) == 1
    assert values == ("active", claimed.expires_at, claimed.shown_order, "ranking", claimed.task.prompt_id, project.lease_seconds)
    # Fields not loaded still load on access, correctly.
    assert assignment.created_at == claimed.created_at
    assert assignment.task.project.slug == project.slug


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_token_auth_loads_user_and_roles_in_one_query(project):
    user = UserFactory(roles=[LABELER, ADMIN])
    client = _token_client(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    assert sorted(response.json()["roles"]) == ["admin", "labeler"]
    assert len(ctx.captured_queries) == 1


def test_token_auth_for_a_user_without_roles_and_bad_tokens():
    nobody = UserFactory(roles=[])
    nobody_client = _token_client(nobody)
    assert nobody_client.get("/api/roles/").status_code == 403
    assert nobody_client.get("/api/me/").json()["roles"] == []

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/me/")
    assert response.status_code == 403  # (DRF answers 403 when session auth is listed first)
    assert "Invalid token" in response.json()["error"]["message"]

    inactive = UserFactory(roles=[LABELER])
    inactive_client = _token_client(inactive)
    inactive.is_active = False
    inactive.save()
    response = inactive_client.get("/api/me/")
    assert response.status_code == 403  # (DRF answers 403 when session auth is listed first)
    assert "inactive" in response.json()["error"]["message"]


def test_queue_statements_are_prepared_and_the_orm_has_no_parameter_cap(project, labeler):
    """The queue's cursors bind on the server, so its statements get prepared (unless
    DATABASE_PREPARED_STATEMENTS=0, for poolers, turns that off); the ORM binds on the client,
    so an IN list longer than the 65,535 parameters a server-bound statement takes still runs
    (prefetches and cascading deletes on a big project make such lists)."""
    import psycopg
    from django.conf import settings

    from labeling.sql import hot_cursor

    prepared = settings.LABELING["PREPARED_STATEMENTS"]
    with hot_cursor() as cursor:
        assert isinstance(cursor.cursor, psycopg.ClientCursor) is not prepared
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, psycopg.ClientCursor)

    RankingTaskFactory.create_batch(8, project=project, overlap=1)
    for _ in range(8):
        assignment = assignment_claim_next(user=labeler, project=project, kind="ranking")
        assignment_skip(assignment_id=assignment.pk, user=labeler, reason="test")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%labeling_claim_next%"])
        assert cursor.fetchone()[0] == (1 if prepared else 0), "the claim call runs as a prepared statement when enabled"

    assert Ranking.objects.filter(id__in=list(range(1, 70_001))).count() == 0
