"""Fixtures for the exports app: users in each role, a project with demonstrations and
rankings (ties, flags, model provenance), and a DATA_DIR of the test's own."""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from labeling.models import Demonstration, Project, Prompt, Ranking, RankingEntry, Sample, Split, Task, TaskSample
from labeling.roles import ADMIN, LABELER, ML_ENGINEER

_counter = itertools.count()
CHECKPOINT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.TRAINING = {**settings.TRAINING, "DATA_DIR": tmp_path / "data"}
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def make_user(role: str | None) -> User:
    user = User.objects.create_user(f"{role or 'nobody'}{next(_counter)}", password="pw-test-123456")
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def admin_user(db):
    return make_user(ADMIN)


@pytest.fixture
def engineer(db):
    return make_user(ML_ENGINEER)


@pytest.fixture
def labeler(db):
    return make_user(LABELER)


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def add_ranking(project: Project, prompt: Prompt, labeler: User | None, texts: list[str], ranks: list[int], *, round_number=None, flags=None) -> Ranking:
    """A ranking task with one sample per text (A, B, ...) ranked by `ranks` (equal ranks tie)."""
    task = Task.objects.create(project=project, prompt=prompt, kind=Task.Kind.RANKING, round_number=round_number, status=Task.Status.COMPLETE, submitted_count=1)
    samples = [
        Sample.objects.create(
            prompt=prompt, text=t, origin=Sample.Origin.MODEL, checkpoint_id=CHECKPOINT_ID, round_number=round_number, generation={"temperature": 0.7, "seed": i}
        )
        for i, t in enumerate(texts)
    ]
    for i, s in enumerate(samples):
        TaskSample.objects.create(task=task, sample=s, position=i)
    groups: dict[int, list[int]] = {}
    for s, r in zip(samples, ranks):
        groups.setdefault(r, []).append(s.id)
    ranking = Ranking.objects.create(
        task=task, labeler=labeler, order=[groups[r] for r in sorted(groups)], shown_order=[s.id for s in reversed(samples)], time_spent_ms=1234
    )
    for i, (s, r) in enumerate(zip(samples, ranks)):
        RankingEntry.objects.create(ranking=ranking, sample=s, rank=r, score=8 - r * 2 if r < 4 else 1, flags=(flags or {}).get(i, []))
    return ranking


@pytest.fixture
def make_ranking():
    return add_ranking


@pytest.fixture
def project(db):
    return Project.objects.create(name="Sky", slug=f"sky-{next(_counter)}", k=4)


@pytest.fixture
def filled(project, labeler):
    """Two train prompts with demonstrations, two rankings (one with a tie), one eval prompt."""
    other = make_user(LABELER)
    p1 = Prompt.objects.create(project=project, text="What color is the sky?", split=Split.TRAIN, category="open_qa")
    p2 = Prompt.objects.create(project=project, text="=HYPERLINK(\"http://x\") say hi", split=Split.TRAIN)
    ev = Prompt.objects.create(project=project, text="Why is the sea blue?", split=Split.EVAL)
    demos = [
        Demonstration.objects.create(prompt=p1, labeler=labeler, text="The sky is blue."),
        Demonstration.objects.create(prompt=p2, labeler=other, text="+1 hi"),
    ]
    r1 = add_ranking(project, p1, labeler, ["Blue.", "Blue, on a clear day.", "Green.", "@cmd"], [2, 1, 3, 4], round_number=1, flags={2: ["hallucination"]})
    r2 = add_ranking(project, p2, other, ["Hi!", "Hello!", "No."], [1, 1, 2], round_number=2)
    return {"prompts": [p1, p2], "eval": ev, "demos": demos, "rankings": [r1, r2], "labelers": [labeler, other]}
