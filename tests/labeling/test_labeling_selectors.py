"""Reads: available work, a labeler's stats, project activity, and the training app's selectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling import selectors
from labeling.models import Ranking
from labeling.services import (
    assignment_claim_next,
    assignment_skip,
    assignment_submit_demonstration,
    assignment_submit_ranking,
)
from tests.factories import DemonstrationTaskFactory, PromptFactory, RankingTaskFactory

pytestmark = pytest.mark.django_db


def _rank(user, project):
    assignment = assignment_claim_next(user=user, project=project, kind="ranking")
    ids = assignment.shown_order
    return assignment_submit_ranking(
        assignment_id=assignment.pk, user=user, order=[[i] for i in ids], scores={str(i): 4 for i in ids}, time_spent_ms=3000
    )


def test_available_work_counts_what_the_user_could_claim(project, labeler, other_labeler):
    DemonstrationTaskFactory.create_batch(2, project=project)
    RankingTaskFactory.create_batch(3, project=project)
    assert selectors.available_work(user=labeler, projects=[project]) == {project.pk: {"demonstration": 2, "ranking": 3}}
    _rank(labeler, project)
    held = assignment_claim_next(user=other_labeler, project=project, kind="ranking")
    assert selectors.available_work(user=labeler, projects=[project])[project.pk] == {"demonstration": 2, "ranking": 1}
    assignment_skip(assignment_id=held.pk, user=other_labeler)
    assert selectors.available_work(user=labeler, projects=[project])[project.pk]["ranking"] == 2


def test_user_stats(project, labeler):
    DemonstrationTaskFactory(project=project)
    RankingTaskFactory.create_batch(2, project=project)
    _rank(labeler, project)
    demo = assignment_claim_next(user=labeler, project=project, kind="demonstration")
    assignment_submit_demonstration(assignment_id=demo.pk, user=labeler, text="Blue.", time_spent_ms=1000)
    skipped = assignment_claim_next(user=labeler, project=project, kind="ranking")
    assignment_skip(assignment_id=skipped.pk, user=labeler)
    stats = selectors.user_stats(user=labeler)
    assert stats == {
        "demonstrations": 1, "rankings": 1, "submitted": 2, "skipped": 1, "today": 2,
        "median_time_ms": 2000, "today_median_time_ms": 2000,
    }


def test_project_activity(project, labeler, other_labeler):
    RankingTaskFactory.create_batch(3, project=project, overlap=2)
    _rank(labeler, project)
    _rank(labeler, project)
    _rank(other_labeler, project)
    rows = selectors.project_activity(project=project)
    assert [(r["username"], r["rankings"], r["median_time_ms"]) for r in rows] == [
        (labeler.username, 2, 3000), (other_labeler.username, 1, 3000),
    ]
    assert rows[0]["per_hour"] > 0 and rows[1]["per_hour"] is None


def _rank_as(user, project, order: str):
    """Rank the claimed task's samples, named a-d by id, e.g. "ab,c,d" (a and b tied first)."""
    assignment = assignment_claim_next(user=user, project=project, kind="ranking")
    ids = dict(zip("abcd", sorted(assignment.shown_order)))
    groups = [[ids[name] for name in group] for group in order.split(",")]
    return assignment_submit_ranking(
        assignment_id=assignment.pk, user=user, order=groups, scores={str(i): 4 for i in ids.values()}, time_spent_ms=1000
    ).submission


def test_agreement_counts_pairs_both_labelers_ordered(project, labeler, other_labeler):
    third = type(labeler).objects.create_user("third")
    third.groups.set(labeler.groups.all())
    RankingTaskFactory(project=project, overlap=3)
    first = _rank_as(labeler, project, "a,b,c,d")
    _rank_as(other_labeler, project, "a,b,d,c")  # c and d swapped: 5 of 6 pairs agree with the first
    _rank_as(third, project, "ab,c,d")  # a = b says nothing about that pair: 5 pairs each
    RankingTaskFactory(project=project, overlap=1)
    lone = _rank_as(labeler, project, "d,c,b,a")  # nobody else ranked it: not counted

    by_labeler = selectors.labeler_agreement(project=project)
    assert by_labeler == {labeler.pk: (10, 11), other_labeler.pk: (9, 11), third.pk: (9, 10)}
    rows = {r["username"]: r for r in selectors.project_activity(project=project)}
    assert rows[labeler.username]["agreement"] == round(10 / 11, 3) and rows[labeler.username]["agreement_pairs"] == 11
    assert lone.pk not in {r[0] for r in selectors.ranking_agreement(project=project)}
    # Counting only rankings up to the first: nobody shares its task yet.
    assert selectors.ranking_agreement(project=project, max_ranking_id=first.pk) == []


def test_position_bias_compares_the_first_shown_answer_with_chance(project, labeler, other_labeler):
    RankingTaskFactory.create_batch(3, project=project, overlap=2)
    for _ in range(3):  # the labeler always puts the answer shown first on top
        assignment = assignment_claim_next(user=labeler, project=project, kind="ranking")
        shown = assignment.shown_order
        assignment_submit_ranking(assignment_id=assignment.pk, user=labeler, order=[[i] for i in shown], scores={str(i): 4 for i in shown})
    for _ in range(2):  # the other ties everything: the first shown is "best" by construction
        assignment = assignment_claim_next(user=other_labeler, project=project, kind="ranking")
        shown = assignment.shown_order
        assignment_submit_ranking(assignment_id=assignment.pk, user=other_labeler, order=[shown], scores={str(i): 4 for i in shown})
    DemonstrationTaskFactory(project=project)
    writer = type(labeler).objects.create_user("writer")
    writer.groups.set(labeler.groups.all())
    demo = assignment_claim_next(user=writer, project=project, kind="demonstration")
    assignment_submit_demonstration(assignment_id=demo.pk, user=writer, text="Blue.")

    rows = {r["username"]: r for r in selectors.project_activity(project=project)}
    assert (rows[labeler.username]["first_shown_best"], rows[labeler.username]["first_shown_best_by_chance"]) == (1.0, 0.25)
    assert (rows[other_labeler.username]["first_shown_best"], rows[other_labeler.username]["first_shown_best_by_chance"]) == (1.0, 1.0)
    assert rows["writer"]["first_shown_best"] is None and rows["writer"]["first_shown_best_by_chance"] is None


def test_agreement_is_none_without_shared_tasks(project, labeler):
    RankingTaskFactory(project=project)
    _rank(labeler, project)
    row = selectors.project_activity(project=project)[0]
    assert row["agreement"] is None and row["agreement_pairs"] == 0


def test_training_selectors_load_everything_in_fixed_queries(project, labeler, other_labeler):
    RankingTaskFactory.create_batch(3, project=project, overlap=2)
    for user in (labeler, other_labeler):
        for _ in range(3):
            _rank(user, project)
    with CaptureQueriesContext(connection) as ctx:
        rankings = list(selectors.training_rankings(project=project))
        texts = [[(e.rank, e.sample.text) for e in r.entries.all()] + [r.task.prompt.text] for r in rankings]
    assert len(rankings) == 6 and all(len(t) == 5 for t in texts)
    assert len(ctx.captured_queries) == 2  # rankings joined with task and prompt; entries joined with samples

    DemonstrationTaskFactory(project=project)
    demo = assignment_claim_next(user=labeler, project=project, kind="demonstration")
    assignment_submit_demonstration(assignment_id=demo.pk, user=labeler, text="Blue.")
    with CaptureQueriesContext(connection) as ctx:
        pairs = [(d.prompt.text, d.text) for d in selectors.training_demonstrations(project=project)]
    assert len(pairs) == 1 and len(ctx.captured_queries) == 1

    eval_prompt = PromptFactory(project=project, split="eval")
    assert eval_prompt not in selectors.prompts_for_sampling(project=project)
    assert list(selectors.prompts_for_sampling(project=project, split="eval")) == [eval_prompt]

    assert selectors.rankings_count_since(project=project, since=None) == 6
    Ranking.objects.filter(pk__in=[r.pk for r in rankings[:4]]).update(created_at=timezone.now() - timedelta(days=2))
    assert selectors.rankings_count_since(project=project, since=timezone.now() - timedelta(days=1)) == 2


def test_available_work_stops_counting_at_the_cap(project, labeler, monkeypatch):
    RankingTaskFactory.create_batch(4, project=project)
    monkeypatch.setattr(selectors, "AVAILABLE_CAP", 3)
    assert selectors.available_work(user=labeler, projects=[project])[project.pk] == {"demonstration": 0, "ranking": 3}


def test_projects_endpoint_shows_available_work_to_labelers_only(api, project, labeler, engineer):
    RankingTaskFactory(project=project)
    mine = api(labeler).get("/api/projects/").json()["results"][0]
    assert mine["available"] == {"demonstration": 0, "ranking": 1}
    assert api(engineer).get("/api/projects/").json()["results"][0]["available"] is None


def test_stats_and_activity_endpoints(api, project, labeler, admin_user):
    RankingTaskFactory(project=project)
    _rank(labeler, project)
    assert api(labeler).get("/api/me/stats/").json()["rankings"] == 1
    rows = api(admin_user).get(f"/api/projects/{project.slug}/activity/").json()
    assert rows[0]["username"] == labeler.username and rows[0]["rankings"] == 1
    assignments = api(labeler).get("/api/assignments/?status=submitted").json()
    assert assignments["count"] == 1 and assignments["results"][0]["status"] == "submitted"
    assert api(labeler).get("/api/assignments/?status=bogus").status_code == 400


def test_snapshot_reads_take_more_ids_than_postgres_takes_parameters(project, labeler):
    """A snapshot of a big project lists more ids than the 65,535 parameters PostgreSQL accepts in
    one statement; the selectors send them as one."""
    RankingTaskFactory(project=project)
    ranking = _rank(labeler, project).submission
    DemonstrationTaskFactory(project=project)
    demo = assignment_claim_next(user=labeler, project=project, kind="demonstration")
    demonstration = assignment_submit_demonstration(assignment_id=demo.pk, user=labeler, text="Blue.").submission
    absent = list(range(10**12, 10**12 + 70_000))
    assert [r.pk for r in selectors.training_rankings(project=project, ids=[*absent, ranking.pk])] == [ranking.pk]
    assert [d.pk for d in selectors.training_demonstrations(project=project, ids=[demonstration.pk, *absent])] == [demonstration.pk]
    assert [p.pk for p in selectors.prompts_by_ids(ids=[*absent, demonstration.prompt_id])] == [demonstration.prompt_id]
    assert list(selectors.training_rankings(project=project, ids=[])) == []


def test_in_values_sends_text_lists_of_any_length(project):
    """Prompt imports (up to 100,000 rows) look their hashes up in one statement."""
    from labeling.models import Prompt
    from labeling.sql import in_values

    prompt = PromptFactory(project=project)
    hashes = [f"{i:064x}" for i in range(70_000)] + [prompt.text_hash]
    assert list(Prompt.objects.filter(text_hash__in=in_values(hashes, pg_type="text"))) == [prompt]
