"""The queue's rules, one claimer at a time (the concurrent cases are in test_labeling_concurrency)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import ApplicationError, Conflict, NotFound
from labeling.models import Assignment, Task
from labeling.services import (
    assignment_claim_next,
    assignment_heartbeat,
    assignment_skip,
    assignment_submit_demonstration,
)
from labeling.roles import LABELER
from tests.factories import DemonstrationTaskFactory, ProjectFactory, RankingTaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _expire(assignment: Assignment) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_overlap_limits_distinct_labelers(project):
    project.overlap = 2
    project.save()
    task = RankingTaskFactory(project=project)
    users = [UserFactory(roles=[LABELER]) for _ in range(3)]
    first, second = (assignment_claim_next(user=u, project=project) for u in users[:2])
    assert first.task_id == second.task_id == task.pk
    assert assignment_claim_next(user=users[2], project=project) is None


def test_a_labeler_never_gets_a_task_twice(project, labeler):
    project.overlap = 3
    project.save()
    DemonstrationTaskFactory(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    assignment_submit_demonstration(assignment_id=assignment.pk, user=labeler, text="Blue.")
    assert assignment_claim_next(user=labeler, project=project) is None
    assignment_skip_target = DemonstrationTaskFactory(project=project)
    skipped = assignment_claim_next(user=labeler, project=project)
    assert skipped.task_id == assignment_skip_target.pk
    assignment_skip(assignment_id=skipped.pk, user=labeler, reason="I do not know")
    assert assignment_claim_next(user=labeler, project=project) is None


def test_the_held_lease_is_returned_again(project, labeler):
    DemonstrationTaskFactory.create_batch(2, project=project)
    first = assignment_claim_next(user=labeler, project=project)
    assert assignment_claim_next(user=labeler, project=project).pk == first.pk
    assert Assignment.objects.count() == 1


def test_an_expired_lease_returns_the_task_to_the_pool(project, labeler, other_labeler):
    task = DemonstrationTaskFactory(project=project)
    lapsed = assignment_claim_next(user=labeler, project=project)
    assert assignment_claim_next(user=other_labeler, project=project) is None
    _expire(lapsed)
    taken = assignment_claim_next(user=other_labeler, project=project)
    assert taken.task_id == task.pk


def test_the_same_labeler_can_renew_their_own_lapsed_lease(project, labeler):
    task = DemonstrationTaskFactory(project=project)
    lapsed = assignment_claim_next(user=labeler, project=project)
    _expire(lapsed)
    renewed = assignment_claim_next(user=labeler, project=project)
    assert (renewed.pk, renewed.task_id, renewed.status) == (lapsed.pk, task.pk, Assignment.Status.ACTIVE)
    assert renewed.expires_at > timezone.now()


def test_kinds_priority_and_order(project, labeler):
    demo = DemonstrationTaskFactory(project=project)
    late = RankingTaskFactory(project=project, priority=5)
    early = RankingTaskFactory(project=project, priority=-1)
    # Kind None: rankings first (KIND_PREFERENCE), lowest priority value first.
    got = assignment_claim_next(user=labeler, project=project)
    assert got.task_id == early.pk
    assignment_skip(assignment_id=got.pk, user=labeler)
    assert assignment_claim_next(user=labeler, project=project, kind="demonstration").task_id == demo.pk
    # The held demonstration lease is not returned when asking for rankings.
    assert assignment_claim_next(user=labeler, project=project, kind="ranking").task_id == late.pk


def test_ranking_assignments_record_a_shuffled_order_per_labeler(project):
    task = RankingTaskFactory(project=project, overlap=20)
    canonical = list(task.task_samples.order_by("position").values_list("sample_id", flat=True))
    orders = []
    for _ in range(20):
        assignment = assignment_claim_next(user=UserFactory(roles=[LABELER]), project=project)
        assert sorted(assignment.shown_order) == sorted(canonical)
        orders.append(tuple(assignment.shown_order))
    # 20 shuffles of 4 items all equal to the canonical order: probability 24**-20.
    assert any(order != tuple(canonical) for order in orders)


def test_bad_kind_and_inactive_project(project, labeler):
    with pytest.raises(ApplicationError):
        assignment_claim_next(user=labeler, project=project, kind="essay")
    inactive = ProjectFactory(is_active=False)
    with pytest.raises(NotFound):
        assignment_claim_next(user=labeler, project=inactive)


def test_heartbeat_extends_only_own_active_leases(project, labeler, other_labeler):
    DemonstrationTaskFactory(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    extended = assignment_heartbeat(assignment_id=assignment.pk, user=labeler)
    assert extended.expires_at > timezone.now() + timedelta(seconds=project.lease_seconds - 5)
    with pytest.raises(NotFound):
        assignment_heartbeat(assignment_id=assignment.pk, user=other_labeler)
    assignment_skip(assignment_id=assignment.pk, user=labeler)
    with pytest.raises(Conflict):
        assignment_heartbeat(assignment_id=assignment.pk, user=labeler)


def test_heartbeat_on_a_lapsed_lease_whose_slot_was_taken_is_a_conflict(project, labeler, other_labeler):
    DemonstrationTaskFactory(project=project)
    lapsed = assignment_claim_next(user=labeler, project=project)
    _expire(lapsed)
    assignment_claim_next(user=other_labeler, project=project)
    with pytest.raises(Conflict) as exc:
        assignment_heartbeat(assignment_id=lapsed.pk, user=labeler)
    assert exc.value.code == "lease_expired"
    assert Assignment.objects.get(pk=lapsed.pk).status == Assignment.Status.EXPIRED


def test_complete_tasks_are_not_offered(project, labeler):
    DemonstrationTaskFactory(project=project, status=Task.Status.COMPLETE)
    assert assignment_claim_next(user=labeler, project=project) is None
