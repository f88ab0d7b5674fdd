"""Who may call what: every labeling endpoint against every role, and labelers against each
other's work."""

from __future__ import annotations

import pytest

from labeling.roles import ADMIN, LABELER, ML_ENGINEER
from labeling.services import assignment_claim_next
from tests.factories import DemonstrationTaskFactory, ProjectFactory, PromptFactory, RankingTaskFactory, UserFactory

pytestmark = pytest.mark.django_db

ANON, LAB, ADM, ENG = "anonymous", "labeler", "admin", "engineer"
DENIED = {401, 403}


@pytest.fixture
def world(db):
    project = ProjectFactory(slug="p")
    prompt = PromptFactory(project=project)
    DemonstrationTaskFactory(project=project)
    users = {ANON: None, LAB: UserFactory(roles=[LABELER]), ADM: UserFactory(roles=[ADMIN]), ENG: UserFactory(roles=[ML_ENGINEER])}
    return {"project": project, "prompt": prompt, "users": users}


# (method, path, body, roles allowed). "{prompt}" is filled in from the fixture.
MATRIX = [
    ("get", "/api/me/", None, {LAB, ADM, ENG}),
    ("get", "/api/me/stats/", None, {LAB, ADM, ENG}),
    ("get", "/api/projects/", None, {LAB, ADM, ENG}),
    ("post", "/api/projects/", {"name": "New", "slug": "new"}, {ADM}),
    ("get", "/api/projects/p/", None, {LAB, ADM, ENG}),
    ("patch", "/api/projects/p/", {"guidelines": "Be brief."}, {ADM}),
    ("delete", "/api/projects/p/", None, {ADM}),
    ("get", "/api/projects/p/prompts/", None, {ADM, ENG}),
    ("post", "/api/projects/p/prompts/", {"text": "A new question?"}, {ADM}),
    ("get", "/api/prompts/{prompt}/", None, {ADM, ENG}),
    ("patch", "/api/prompts/{prompt}/", {"split": "eval"}, {ADM}),
    ("delete", "/api/prompts/{prompt}/", None, {ADM}),
    ("post", "/api/projects/p/tasks/next/", {}, {LAB}),
    ("get", "/api/assignments/", None, {LAB}),
    ("get", "/api/projects/p/activity/", None, {ADM}),
    ("get", "/api/users/", None, {ADM}),
    ("post", "/api/users/", {"username": "newbie", "password": "a-long-enough-pass", "roles": ["labeler"]}, {ADM}),
    ("get", "/api/roles/", None, {LAB, ADM, ENG}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
@pytest.mark.parametrize("role", [ANON, LAB, ADM, ENG])
def test_role_matrix(api, world, method, path, body, allowed, role):
    client = api(world["users"][role])
    path = path.format(prompt=world["prompt"].pk)
    response = getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)
    if role in allowed:
        assert response.status_code < 400, (response.status_code, response.content)
    else:
        assert response.status_code in DENIED, (response.status_code, response.content)
        assert "error" in response.json()


def test_import_is_admin_only(api, world):
    for role in (ANON, LAB, ENG):
        response = api(world["users"][role]).post("/api/projects/p/prompts/import/?format=jsonl", b'{"text": "x?"}', content_type="application/x-ndjson")
        assert response.status_code in DENIED


def test_a_user_without_roles_is_refused(api, world):
    nobody = UserFactory()
    assert api(nobody).get("/api/projects/").status_code == 403
    assert api(nobody).post("/api/projects/p/tasks/next/", {}, format="json").status_code == 403


@pytest.fixture
def two_labelers_one_assignment(world):
    RankingTaskFactory(project=world["project"])
    owner, intruder = world["users"][LAB], UserFactory(roles=[LABELER])
    assignment = assignment_claim_next(user=owner, project=world["project"], kind="ranking")
    return assignment, owner, intruder


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "heartbeat/", {}),
        ("put", "draft/", {"text": "mine"}),
        ("post", "skip/", {"reason": "x"}),
        ("post", "submit/", {"text": "stolen"}),
        ("post", "submit/", {"order": [[1]], "scores": {"1": 3}}),
    ],
)
def test_another_labelers_assignment_is_not_found(api, two_labelers_one_assignment, method, suffix, body):
    assignment, owner, intruder = two_labelers_one_assignment
    path = f"/api/assignments/{assignment.pk}/{suffix}"
    client = api(intruder)
    response = getattr(client, method)(path, body, format="json") if body is not None else client.get(path)
    assert response.status_code == 404
    assert assignment.pk not in [a["id"] for a in client.get("/api/assignments/").json()["results"]]
    # The owner still holds an untouched, active assignment.
    detail = api(owner).get(f"/api/assignments/{assignment.pk}/").json()
    assert (detail["status"], detail["draft"]) == ("active", "")


def test_admins_and_engineers_cannot_touch_assignments(api, world, two_labelers_one_assignment):
    assignment, _, _ = two_labelers_one_assignment
    for role in (ADM, ENG):
        response = api(world["users"][role]).post(f"/api/assignments/{assignment.pk}/submit/", {"text": "x"}, format="json")
        assert response.status_code == 403
