"""Submitting demonstrations and rankings: validation, idempotency and lapsed leases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import ApplicationError, Conflict, NotFound
from labeling.models import Assignment, Demonstration, Ranking, RankingEntry, Sample, Task
from labeling.services import (
    assignment_claim_next,
    assignment_skip,
    assignment_submit_demonstration,
    assignment_submit_ranking,
)
from tests.factories import DemonstrationTaskFactory, RankingTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranking_assignment(project, labeler):
    RankingTaskFactory(project=project)
    return assignment_claim_next(user=labeler, project=project)


def _valid(assignment):
    ids = assignment.shown_order
    return {"order": [[i] for i in ids], "scores": {str(i): 4 for i in ids}}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b, ids: b.update(order=[[ids[0]], [ids[1]], [ids[2]]]), "order"),  # a sample missing
        (lambda b, ids: b.update(order=[[ids[0], ids[0]], [ids[1]], [ids[2]], [ids[3]]]), "order"),  # twice
        (lambda b, ids: b.update(order=[[ids[0]], [ids[1]], [ids[2]], [999999]]), "order"),  # foreign id
        (lambda b, ids: b.update(order=[[ids[0]], [], [ids[1], ids[2], ids[3]]]), "order"),  # empty group
        (lambda b, ids: b["scores"].pop(str(ids[0])), "scores"),
        (lambda b, ids: b["scores"].update({str(ids[0]): 8}), "scores"),
        (lambda b, ids: b["scores"].update({str(ids[0]): 0}), "scores"),
        (lambda b, ids: b["scores"].update({"999999": 3}), "scores"),
        (lambda b, ids: b.update(flags={str(ids[0]): ["not_a_flag"]}), "flags"),
        (lambda b, ids: b.update(flags={"999999": ["hallucination"]}), "flags"),
        (lambda b, ids: b.update(none_acceptable="yes"), "none_acceptable"),
        (lambda b, ids: b.update(time_spent_ms=-1), "time_spent_ms"),
    ],
)
def test_invalid_rankings_name_the_field_and_store_nothing(ranking_assignment, labeler, change, field):
    body = _valid(ranking_assignment)
    change(body, ranking_assignment.shown_order)
    with pytest.raises(ApplicationError) as exc:
        assignment_submit_ranking(assignment_id=ranking_assignment.pk, user=labeler, **body)
    assert exc.value.details["field"] == field
    assert not Ranking.objects.exists() and not RankingEntry.objects.exists()
    assert Assignment.objects.get(pk=ranking_assignment.pk).status == Assignment.Status.ACTIVE


def test_ties_share_a_rank_and_flags_are_stored(ranking_assignment, labeler):
    a, b, c, d = ranking_assignment.shown_order
    result = assignment_submit_ranking(
        assignment_id=ranking_assignment.pk, user=labeler, order=[[b, c], [a], [d]],
        scores={str(a): 5, str(b): 6, str(c): 6, str(d): 1}, flags={str(d): ["harmful_advice", "violent"]},
        none_acceptable=True, time_spent_ms=10,
    )
    assert result.created
    entries = {e.sample_id: (e.rank, e.score, e.flags) for e in RankingEntry.objects.all()}
    assert entries == {b: (1, 6, []), c: (1, 6, []), a: (2, 5, []), d: (3, 1, ["harmful_advice", "violent"])}
    ranking = Ranking.objects.get()
    assert ranking.none_acceptable and ranking.shown_order == [a, b, c, d]


def test_resubmitting_the_same_assignment_replays_the_first_result(ranking_assignment, labeler):
    first = assignment_submit_ranking(assignment_id=ranking_assignment.pk, user=labeler, **_valid(ranking_assignment))
    ids = ranking_assignment.shown_order
    second = assignment_submit_ranking(
        assignment_id=ranking_assignment.pk, user=labeler, order=[list(ids)], scores={str(i): 1 for i in ids}
    )
    assert (second.created, second.submission.pk) == (False, first.submission.pk)
    assert Ranking.objects.count() == 1 and RankingEntry.objects.count() == 4
    assert Task.objects.get().submitted_count == 1


def test_an_idempotency_key_reused_for_other_work_is_a_conflict(project, labeler):
    DemonstrationTaskFactory.create_batch(2, project=project)
    first = assignment_claim_next(user=labeler, project=project, kind="demonstration")
    assignment_submit_demonstration(assignment_id=first.pk, user=labeler, text="Blue.", idempotency_key="key-1")
    second = assignment_claim_next(user=labeler, project=project, kind="demonstration")
    with pytest.raises(Conflict) as exc:
        assignment_submit_demonstration(assignment_id=second.pk, user=labeler, text="Green.", idempotency_key="key-1")
    assert exc.value.code == "idempotency_key_reused"
    assert Demonstration.objects.count() == 1


def test_someone_elses_assignment_is_not_found(ranking_assignment, other_labeler):
    with pytest.raises(NotFound):
        assignment_submit_ranking(assignment_id=ranking_assignment.pk, user=other_labeler, **_valid(ranking_assignment))
    assert not Ranking.objects.exists()


def test_wrong_kind_and_skipped(project, labeler, ranking_assignment):
    with pytest.raises(ApplicationError) as exc:
        assignment_submit_demonstration(assignment_id=ranking_assignment.pk, user=labeler, text="Blue.")
    assert exc.value.code == "wrong_kind"
    assignment_skip(assignment_id=ranking_assignment.pk, user=labeler)
    with pytest.raises(Conflict):
        assignment_submit_ranking(assignment_id=ranking_assignment.pk, user=labeler, **_valid(ranking_assignment))


def test_demonstration_text_limits(project, labeler, settings):
    settings.LABELING = {**settings.LABELING, "MAX_TEXT_CHARS": 10}
    DemonstrationTaskFactory(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    for text in ("", "   ", "x" * 11):
        with pytest.raises(ApplicationError) as exc:
            assignment_submit_demonstration(assignment_id=assignment.pk, user=labeler, text=text)
        assert exc.value.details["field"] == "text"
    assert not Demonstration.objects.exists() and not Sample.objects.exists()


def test_a_lapsed_lease_is_honoured_while_nobody_took_the_slot(project, labeler):
    DemonstrationTaskFactory(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    result = assignment_submit_demonstration(assignment_id=assignment.pk, user=labeler, text="Blue.")
    assert result.created
    assert Task.objects.get().status == Task.Status.COMPLETE


def test_a_lapsed_lease_whose_slot_was_taken_is_a_conflict(project, labeler, other_labeler):
    DemonstrationTaskFactory(project=project)
    lapsed = assignment_claim_next(user=labeler, project=project)
    Assignment.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    taken = assignment_claim_next(user=other_labeler, project=project)
    assert taken.task_id == lapsed.task_id
    with pytest.raises(Conflict) as exc:
        assignment_submit_demonstration(assignment_id=lapsed.pk, user=labeler, text="Blue.")
    assert exc.value.code == "lease_expired" and "another labeler" in exc.value.message
    assert not Demonstration.objects.exists()
    assignment_submit_demonstration(assignment_id=taken.pk, user=other_labeler, text="Blue.")
    assert Task.objects.get().submitted_count == 1


def test_completing_the_overlap_completes_the_task(project, labeler, other_labeler):
    project.overlap = 2
    project.save()
    task = DemonstrationTaskFactory(project=project)
    for user in (labeler, other_labeler):
        assignment = assignment_claim_next(user=user, project=project)
        assignment_submit_demonstration(assignment_id=assignment.pk, user=user, text="Blue.")
        task.refresh_from_db()
    assert (task.submitted_count, task.status) == (2, Task.Status.COMPLETE)
