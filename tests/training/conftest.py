"""Fixtures for the training app: projects with labels written through labeling's models, users
in each role, and a DATA_DIR of the test's own so checkpoints never leak between tests."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Group, User

from labeling.models import Demonstration, Project, Prompt, Ranking, RankingEntry, Sample, Split, Task
from labeling.roles import ADMIN, LABELER, ML_ENGINEER
from training.oracles.sky import oracle

_counter = itertools.count()

# Small enough that a whole round on the tiny model takes seconds on two cores.
FAST_ROUND_CONFIG = {
    "sft": {"epochs": 3, "save_every": 2},
    "reward": {"epochs": 1, "save_every": 2},
    "ppo": {"steps": 2, "rollout_batch_size": 4, "minibatch_size": 4, "ppo_epochs": 1, "save_every": 1},
    "sample": {"max_new_tokens": 4},
    "eval_samples_per_prompt": 1,
    "ranking_tasks_per_prompt": 1,
    "runtime": {"device": "cpu", "dtype": "float32", "seed": 0},
}


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.TRAINING = {**settings.TRAINING, "DATA_DIR": tmp_path}
    return tmp_path


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


@pytest.fixture
def project(db):
    """A project with the sky oracle's train and held-out prompts, and no labels."""
    project = Project.objects.create(name="Sky", slug=f"sky-{next(_counter)}", k=4)
    for text in oracle.train_prompts():
        Prompt.objects.create(project=project, text=text, split=Split.TRAIN)
    for text in oracle.eval_prompts():
        Prompt.objects.create(project=project, text=text, split=Split.EVAL)
    return project


def add_demonstrations(project: Project, labeler: User, n: int | None = None) -> list[Demonstration]:
    """The oracle's ideal answer for the first n train prompts."""
    prompts = Prompt.objects.filter(project=project, split=Split.TRAIN).order_by("id")[:n]
    return [Demonstration.objects.create(prompt=p, labeler=labeler, text=oracle.ideal(p.text)) for p in prompts]


def add_rankings(project: Project, labeler: User, n: int, *, tied: bool = False) -> list[Ranking]:
    """n rankings of four made-up samples, best first by the oracle (all tied when `tied`)."""
    rankings = []
    prompts = list(Prompt.objects.filter(project=project, split=Split.TRAIN).order_by("id")[:n])
    for prompt in prompts:
        task = Task.objects.create(project=project, prompt=prompt, kind=Task.Kind.RANKING)
        answer = oracle.ideal(prompt.text)
        texts = [answer, f"{answer} I think", "Maybe", ""]
        samples = [Sample.objects.create(prompt=prompt, text=t, origin=Sample.Origin.IMPORTED) for t in texts]
        order = [[s.id for s in samples]] if tied else [[s.id] for s in samples]
        ranking = Ranking.objects.create(task=task, labeler=labeler, order=order)
        for rank, s in enumerate(samples, start=1):
            RankingEntry.objects.create(ranking=ranking, sample=s, rank=1 if tied else rank, score=4)
        rankings.append(ranking)
    return rankings
