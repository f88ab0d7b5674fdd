"""Real concurrency: threads, each with its own database connection, claiming and submitting
at the same moment. The queue must never over-assign, never hand a task to a labeler twice,
and never say "no more tasks" while a task the labeler could take is free."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from labeling.models import Assignment, Demonstration, Ranking, RankingEntry, Task
from labeling.roles import LABELER
from labeling.services import assignment_claim_next, assignment_submit_demonstration, assignment_submit_ranking
from tests.factories import DemonstrationTaskFactory, ProjectFactory, RankingTaskFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _run_threads(target, args_list):
    """Start one thread per args tuple behind a barrier so they hit the database together;
    re-raise the first exception any of them met."""
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []
    results: list = [None] * len(args_list)

    def run(index, args):
        try:
            barrier.wait(timeout=30)
            results[index] = target(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize(("overlap", "tasks", "labelers"), [(1, 8, 14), (3, 4, 14)])
def test_simultaneous_claims_fill_every_slot_and_no_more(overlap, tasks, labelers):
    project = ProjectFactory(overlap=overlap)
    RankingTaskFactory.create_batch(tasks, project=project)
    users = [UserFactory(roles=[LABELER]) for _ in range(labelers)]

    results = _run_threads(lambda u: assignment_claim_next(user=u, project=project), [(u,) for u in users])

    slots = tasks * overlap
    got = [r for r in results if r is not None]
    assert len(got) == min(slots, labelers), "a labeler was told 'no more tasks' while a slot was free"
    per_task = Counter(Assignment.objects.values_list("task_id", flat=True))
    assert max(per_task.values()) <= overlap
    assert len(set(Assignment.objects.values_list("task_id", "labeler_id"))) == Assignment.objects.count()


@pytest.mark.parametrize("overlap", [1, 3])
def test_claim_and_submit_loops_finish_all_work_exactly_once(overlap):
    project = ProjectFactory(overlap=overlap)
    tasks = DemonstrationTaskFactory.create_batch(6, project=project)
    users = [UserFactory(roles=[LABELER]) for _ in range(8)]

    def work(user):
        done = 0
        while (assignment := assignment_claim_next(user=user, project=project)) is not None:
            assignment_submit_demonstration(assignment_id=assignment.pk, user=user, text=f"answer by {user.pk}")
            done += 1
        return done

    done = _run_threads(work, [(u,) for u in users])

    assert sum(done) == len(tasks) * overlap
    assert set(Task.objects.values_list("status", "submitted_count")) == {(Task.Status.COMPLETE, overlap)}
    pairs = list(Demonstration.objects.values_list("prompt_id", "labeler_id"))
    assert len(pairs) == len(set(pairs)) == len(tasks) * overlap


def test_concurrent_retries_of_one_ranking_store_it_once():
    project = ProjectFactory()
    RankingTaskFactory(project=project)
    labeler = UserFactory(roles=[LABELER])
    assignment = assignment_claim_next(user=labeler, project=project)
    ids = assignment.shown_order
    body = {"order": [[i] for i in ids], "scores": {str(i): 3 for i in ids}}

    def submit(key):
        return assignment_submit_ranking(assignment_id=assignment.pk, user=labeler, idempotency_key=key, **body)

    # Six retries with the same key and two without one, all at once.
    results = _run_threads(submit, [("same-key",)] * 6 + [(None,)] * 2)

    assert Ranking.objects.count() == 1 and RankingEntry.objects.count() == len(ids)
    assert sum(r.created for r in results) == 1
    assert {r.submission.pk for r in results} == {Ranking.objects.get().pk}
    assert Task.objects.get().submitted_count == 1


def test_concurrent_retries_of_one_demonstration_store_it_once():
    project = ProjectFactory()
    DemonstrationTaskFactory(project=project)
    labeler = UserFactory(roles=[LABELER])
    assignment = assignment_claim_next(user=labeler, project=project)

    results = _run_threads(
        lambda: assignment_submit_demonstration(assignment_id=assignment.pk, user=labeler, text="Blue.", idempotency_key="k"),
        [()] * 8,
    )
    assert Demonstration.objects.count() == 1
    assert sum(r.created for r in results) == 1
