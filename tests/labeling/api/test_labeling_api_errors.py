"""Bad input gets a 4xx naming the problem, in the one error shape; never a 500."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from labeling.models import Prompt, Ranking
from labeling.services import assignment_claim_next
from tests.factories import PASSWORD, DemonstrationTaskFactory, RankingTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranking(project, labeler):
    RankingTaskFactory(project=project)
    return assignment_claim_next(user=labeler, project=project)


def test_wrong_content_type_is_415(api, project, labeler):
    response = api(labeler).post(f"/api/projects/{project.slug}/tasks/next/", "kind=ranking", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_malformed_json_is_400(api, ranking, labeler):
    response = api(labeler).post(f"/api/assignments/{ranking.pk}/submit/", '{"order": [[1]', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_unknown_ranking_field_is_named(api, ranking, labeler):
    ids = ranking.shown_order
    body = {"order": [[i] for i in ids], "scores": {str(i): 3 for i in ids}, "scroes": {}}
    response = api(labeler).post(f"/api/assignments/{ranking.pk}/submit/", body, format="json")
    assert response.status_code == 400
    assert "scroes" in response.json()["error"]["fields"]
    assert not Ranking.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order": "ABCD", "scores": {}}, "order"),
        ({"order": [[1]], "scores": {"1": 9}}, "scores"),
        ({"order": [[1]], "scores": {"1": 3}, "flags": {"1": ["rude"]}}, "flags"),
        ({"order": [[1]], "scores": {"1": 3}, "time_spent_ms": -5}, "time_spent_ms"),
    ],
)
def test_ranking_shape_errors_name_the_field(api, ranking, labeler, body, field):
    response = api(labeler).post(f"/api/assignments/{ranking.pk}/submit/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_ranking_content_errors_are_400_with_details(api, ranking, labeler):
    ids = ranking.shown_order
    body = {"order": [[i] for i in ids[:3]], "scores": {str(i): 3 for i in ids}}
    response = api(labeler).post(f"/api/assignments/{ranking.pk}/submit/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["field"] == "order" and "missing" in error["message"]


def test_oversized_demonstration_is_400(api, project, labeler, settings):
    settings.LABELING = {**settings.LABELING, "MAX_TEXT_CHARS": 100}
    DemonstrationTaskFactory(project=project)
    assignment = assignment_claim_next(user=labeler, project=project)
    response = api(labeler).post(f"/api/assignments/{assignment.pk}/submit/", {"text": "x" * 101}, format="json")
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "text"
    draft = api(labeler).put(f"/api/assignments/{assignment.pk}/draft/", {"text": "x" * 101}, format="json")
    assert draft.status_code == 400


def test_expired_and_taken_lease_submit_is_409(api, project, labeler, other_labeler):
    from datetime import timedelta

    from django.utils import timezone

    from labeling.models import Assignment

    DemonstrationTaskFactory(project=project)
    lapsed = assignment_claim_next(user=labeler, project=project)
    Assignment.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assignment_claim_next(user=other_labeler, project=project)
    response = api(labeler).post(f"/api/assignments/{lapsed.pk}/submit/", {"text": "Blue."}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lease_expired"


def test_prompt_import_endpoint(api, project, admin_user):
    client = api(admin_user)
    raw = client.post(f"/api/projects/{project.slug}/prompts/import/?format=jsonl", b'{"text": "One?"}\n{"text": "Two?"}\n', content_type="application/x-ndjson")
    assert raw.status_code == 201 and raw.json() == {"created": 2}
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("p.csv", b"text\nThree?\n", content_type="text/csv")
    multipart = client.post(f"/api/projects/{project.slug}/prompts/import/", {"file": upload}, format="multipart")
    assert multipart.status_code == 201 and multipart.json() == {"created": 1}
    bad = client.post(f"/api/projects/{project.slug}/prompts/import/?format=jsonl", b'{"text": "Four?"}\n{"text": "One?"}\n', content_type="application/x-ndjson")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "import_invalid"
    assert error["details"]["errors"] == [{"line": 2, "field": "text", "message": "This prompt is already in the project."}]
    assert Prompt.objects.filter(project=project).count() == 3


def test_session_login_needs_csrf_and_token_login_works(labeler):
    client = APIClient(enforce_csrf_checks=True)
    creds = {"username": labeler.username, "password": PASSWORD}
    assert client.post("/api/auth/login/", creds, format="json").status_code == 403
    token = client.get("/api/auth/csrf/").json()["csrftoken"]
    response = client.post("/api/auth/login/", creds, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["roles"] == ["labeler"]
    assert client.get("/api/me/").json()["username"] == labeler.username
    # Session writes need the CSRF token too.
    assert client.post("/api/auth/logout/").status_code == 403
    assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value).status_code == 204
    assert client.get("/api/me/").status_code in (401, 403)

    bad = APIClient().post("/api/auth/token/", {"username": labeler.username, "password": "wrong"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_credentials"
    key = APIClient().post("/api/auth/token/", creds, format="json").json()["token"]
    scripted = APIClient()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert scripted.get("/api/me/").json()["id"] == labeler.id


def test_deactivated_user_loses_access(api, admin_user, labeler):
    key = APIClient().post("/api/auth/token/", {"username": labeler.username, "password": PASSWORD}, format="json").json()["token"]
    response = api(admin_user).patch(f"/api/users/{labeler.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    scripted = APIClient()
    scripted.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert scripted.get("/api/me/").status_code in (401, 403)
    assert APIClient().post("/api/auth/token/", {"username": labeler.username, "password": PASSWORD}, format="json").status_code == 400


def test_user_management(api, admin_user):
    client = api(admin_user)
    created = client.post("/api/users/", {"username": "ann", "password": "a-long-enough-pass", "roles": ["labeler"]}, format="json")
    assert created.status_code == 201 and created.json()["roles"] == ["labeler"]
    user_id = created.json()["id"]
    changed = client.patch(f"/api/users/{user_id}/", {"roles": ["admin", "ml_engineer"]}, format="json")
    assert changed.json()["roles"] == ["admin", "ml_engineer"]
    assert client.post("/api/users/", {"username": "ann", "password": "a-long-enough-pass"}, format="json").status_code == 409
    assert client.post("/api/users/", {"username": "bob", "password": "short"}, format="json").status_code == 400
    bad_role = client.patch(f"/api/users/{user_id}/", {"roles": ["overlord"]}, format="json")
    assert bad_role.status_code == 400 and "roles" in bad_role.json()["error"]["fields"]
    assert client.patch(f"/api/users/{admin_user.pk}/", {"is_active": False}, format="json").status_code == 400


def test_project_crud(api, admin_user, labeler):
    client = api(admin_user)
    assert client.post("/api/projects/", {"name": "X", "slug": "x", "k": 12}, format="json").status_code == 400
    assert client.post("/api/projects/", {"name": "X", "slug": "x", "k": 3, "overlap": 2}, format="json").status_code == 201
    assert client.post("/api/projects/", {"name": "X", "slug": "x"}, format="json").status_code == 409
    assert client.patch("/api/projects/x/", {"overlap": 0}, format="json").status_code == 400
    assert client.patch("/api/projects/x/", {"slug": "y"}, format="json").status_code == 400
    assert client.delete("/api/projects/x/").status_code == 204
    assert "x" not in [p["slug"] for p in api(labeler).get("/api/projects/").json()["results"]]
    assert api(labeler).post("/api/projects/x/tasks/next/", {}, format="json").status_code == 404


def test_schema_is_generated(api, admin_user):
    response = APIClient().get("/api/schema/?format=json")
    schema = json.loads(response.content) if response.status_code == 200 else None
    assert schema is not None, response.status_code
    for path in ("/api/projects/{slug}/tasks/next/", "/api/assignments/{assignment_id}/submit/", "/api/auth/login/"):
        assert path in schema["paths"]
    # COMPONENT_SPLIT_REQUEST names request bodies "<Serializer>Request".
    assert "RankingSubmitInputRequest" in schema["components"]["schemas"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=abc", "limit"), ("limit=0", "limit"), ("limit=501", "limit"), ("offset=-5", "offset"), ("offset=1.5", "offset")],
)
def test_bad_page_parameters_are_named(api, admin_user, query, field):
    for path in ("/api/projects/", "/api/users/", "/api/exports/"):
        response = api(admin_user).get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert list(response.json()["error"]["fields"]) == [field]


def test_page_parameters_page(api, admin_user, project):
    for i in range(3):
        Prompt.objects.create(project=project, text=f"Question {i}?")
    body = api(admin_user).get(f"/api/projects/{project.slug}/prompts/?limit=2&offset=1").json()
    assert body["count"] == 3 and [p["text"] for p in body["results"]] == ["Question 1?", "Question 2?"]
    assert body["previous"] is not None and body["next"] is None


def test_unknown_prompt_split_is_400_not_an_empty_page(api, admin_user, project):
    response = api(admin_user).get(f"/api/projects/{project.slug}/prompts/?split=dev")
    assert response.status_code == 400
    assert "split" in response.json()["error"]["fields"]
