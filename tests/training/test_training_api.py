"""The training API per role, its validation and its error shape."""

from __future__ import annotations

from unittest import mock

import pytest
from rest_framework.test import APIClient

from training.models import TrainingRound

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def _no_broker():
    with mock.patch("training.tasks.round_start.delay"), mock.patch("training.tasks.job_run.delay"):
        yield


def test_labelers_see_nothing_of_training(project, labeler):
    client = client_for(labeler)
    for url in (f"/api/projects/{project.slug}/rounds/", f"/api/projects/{project.slug}/round-metrics/",
                f"/api/projects/{project.slug}/round-schedule/", f"/api/checkpoints/?project={project.slug}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "permission_denied"
    assert client.post(f"/api/projects/{project.slug}/rounds/", {}, format="json").status_code == 403
    assert APIClient().get(f"/api/projects/{project.slug}/rounds/").status_code in (401, 403)


def test_ml_engineers_read_but_do_not_steer(project, engineer):
    client = client_for(engineer)
    assert client.get(f"/api/projects/{project.slug}/rounds/").status_code == 200
    assert client.get(f"/api/projects/{project.slug}/round-metrics/").status_code == 200
    assert client.post(f"/api/projects/{project.slug}/rounds/", {}, format="json").status_code == 403
    assert client.put(f"/api/projects/{project.slug}/round-schedule/", {"every_hours": 1, "rankings_threshold": None},
                      format="json").status_code == 403


def test_admin_schedules_reads_and_cancels(project, admin_user):
    client = client_for(admin_user)
    created = client.post(f"/api/projects/{project.slug}/rounds/", {"config": {"algorithm": "dpo"}}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] == 1 and body["status"] == "scheduled" and body["config"]["algorithm"] == "dpo"
    again = client.post(f"/api/projects/{project.slug}/rounds/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "round_active"
    assert client.get(f"/api/rounds/{body['id']}/").json()["id"] == body["id"]
    cancelled = client.post(f"/api/rounds/{body['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/rounds/{body['id']}/cancel/").status_code == 409
    assert client.get(f"/api/projects/{project.slug}/round-metrics/").json()[0]["round"] == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"config": {"sft": {"epochs": "x"}}}, "config.sft.epochs"),
        ({"config": "nope"}, "config"),
        ({"config": [1, 2]}, "config"),
        ({"config": None}, "config"),
        ({"start_at": "tomorrow"}, "start_at"),
    ],
)
def test_bad_round_input_is_a_400_naming_the_field(project, admin_user, payload, field):
    response = client_for(admin_user).post(f"/api/projects/{project.slug}/rounds/", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in (error.get("fields") or {}) or error.get("details", {}).get("field") == field
    assert not TrainingRound.objects.filter(project=project).exists(), "nothing half-written"


def test_round_schedule_settings_round_trip(project, admin_user):
    client = client_for(admin_user)
    url = f"/api/projects/{project.slug}/round-schedule/"
    assert client.get(url).json()["every_hours"] is None
    saved = client.put(url, {"every_hours": 6, "rankings_threshold": 50, "config": {"ppo": {"steps": 5}}}, format="json")
    assert saved.status_code == 200 and saved.json()["rankings_threshold"] == 50
    assert client.get(url).json()["every_hours"] == 6
    bad = client.put(url, {"every_hours": 0, "rankings_threshold": None}, format="json")
    assert bad.status_code == 400 and "every_hours" in bad.json()["error"]["fields"]
    bad = client.put(url, {"every_hours": None, "rankings_threshold": None, "config": {"ppo": {"stepz": 1}}}, format="json")
    assert bad.status_code == 400


def test_unknown_things_are_404s(project, admin_user):
    client = client_for(admin_user)
    assert client.get("/api/projects/nope/rounds/").status_code == 404
    assert client.get("/api/rounds/999999/").status_code == 404
    assert client.get("/api/checkpoints/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.post("/api/jobs/00000000-0000-0000-0000-000000000000/retry/").status_code == 404
    response = client.get("/api/checkpoints/")
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "project"
