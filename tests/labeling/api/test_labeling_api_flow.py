"""The labeler's day over HTTP: claim, see the task, submit, replay, and run out of work."""

from __future__ import annotations

import pytest

from labeling.models import Assignment, Demonstration, Ranking, Sample, Task
from tests.factories import DemonstrationTaskFactory, RankingTaskFactory

pytestmark = pytest.mark.django_db


def test_ranking_task_round_trip(api, project, labeler):
    task = RankingTaskFactory(project=project)
    client = api(labeler)
    body = client.post(f"/api/projects/{project.slug}/tasks/next/", {}, format="json").json()
    assignment = body["assignment"]
    assert assignment["kind"] == "ranking"
    assert assignment["project"] == project.slug
    assert assignment["prompt"]["id"] == task.prompt_id
    assert [s["label"] for s in assignment["samples"]] == ["A", "B", "C", "D"]
    shown = [s["id"] for s in assignment["samples"]]
    assert shown == Assignment.objects.get(pk=assignment["id"]).shown_order
    assert sorted(shown) == sorted(task.task_samples.values_list("sample_id", flat=True))

    submit = {
        "order": [[shown[2]], [shown[0], shown[1]], [shown[3]]],
        "scores": {str(i): 5 for i in shown},
        "flags": {str(shown[3]): ["hallucination"]},
        "none_acceptable": False,
        "time_spent_ms": 1234,
    }
    first = client.post(f"/api/assignments/{assignment['id']}/submit/", submit, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201, first.json()
    replay = client.post(f"/api/assignments/{assignment['id']}/submit/", submit, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.status_code == 200
    assert replay.json() == first.json()
    ranking = Ranking.objects.get()
    assert ranking.order == submit["order"]
    assert {e.sample_id: e.rank for e in ranking.entries.all()} == {shown[2]: 1, shown[0]: 2, shown[1]: 2, shown[3]: 3}
    task.refresh_from_db()
    assert (task.status, task.submitted_count) == (Task.Status.COMPLETE, 1)

    empty = client.post(f"/api/projects/{project.slug}/tasks/next/", {}, format="json").json()
    assert empty["assignment"] is None and "No more tasks" in empty["message"]


def test_demonstration_round_trip_with_draft(api, project, labeler):
    task = DemonstrationTaskFactory(project=project)
    client = api(labeler)
    assignment = client.post(f"/api/projects/{project.slug}/tasks/next/", {"kind": "demonstration"}, format="json").json()["assignment"]
    assert assignment["samples"] == []
    assert client.put(f"/api/assignments/{assignment['id']}/draft/", {"text": "Bl"}, format="json").status_code == 200
    assert client.get(f"/api/assignments/{assignment['id']}/").json()["draft"] == "Bl"
    heartbeat = client.post(f"/api/assignments/{assignment['id']}/heartbeat/")
    assert heartbeat.status_code == 200 and heartbeat.json()["expires_at"]
    response = client.post(f"/api/assignments/{assignment['id']}/submit/", {"text": "Blue.", "time_spent_ms": 900}, format="json")
    assert response.status_code == 201, response.json()
    demo = Demonstration.objects.get()
    assert (demo.text, demo.prompt_id, demo.labeler) == ("Blue.", task.prompt_id, labeler)
    assert Sample.objects.get(origin=Sample.Origin.DEMONSTRATION).demonstration == demo
