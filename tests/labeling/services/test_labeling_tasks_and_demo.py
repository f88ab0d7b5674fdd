"""Ranking tasks from imported and model samples, the demo seed and the two commands."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command

from config.errors import ApplicationError, NotFound
from labeling.models import Prompt, Sample, Task, TaskSample
from labeling.roles import user_roles
from labeling.services import demo_seed, ranking_task_create, ranking_tasks_create_from_model, samples_create
from tests.factories import ProjectFactory, PromptFactory

pytestmark = pytest.mark.django_db
CHECKPOINT = uuid.UUID("00000000-0000-4000-8000-00000000000a")


def test_ranking_tasks_from_model_completions(project):
    prompts = PromptFactory.create_batch(3, project=project)
    completions = {p.pk: [f"{p.pk}-{i}" for i in range(4)] for p in prompts}
    tasks = ranking_tasks_create_from_model(
        project=project, completions=completions, checkpoint_id=CHECKPOINT, round_number=2, generation={"temperature": 0.7}
    )
    assert [t.prompt_id for t in tasks] == [p.pk for p in prompts]
    for task in tasks:
        links = list(TaskSample.objects.filter(task=task).select_related("sample").order_by("position"))
        assert [link.sample.text for link in links] == completions[task.prompt_id]
        assert {(link.sample.origin, link.sample.checkpoint_id, link.sample.round_number) for link in links} == {("model", CHECKPOINT, 2)}
        assert (task.kind, task.round_number, task.overlap) == (Task.Kind.RANKING, 2, project.overlap)


def test_model_completions_are_all_or_nothing(project):
    good = PromptFactory(project=project)
    foreign = PromptFactory(project=ProjectFactory())
    with pytest.raises(ApplicationError):
        ranking_tasks_create_from_model(
            project=project, completions={good.pk: ["a"] * 4, PromptFactory(project=project).pk: ["a"] * 3},
            checkpoint_id=CHECKPOINT, round_number=1, generation={},
        )
    with pytest.raises(NotFound):
        ranking_tasks_create_from_model(
            project=project, completions={good.pk: ["a"] * 4, foreign.pk: ["b"] * 4}, checkpoint_id=CHECKPOINT, round_number=1,
            generation={},
        )
    assert not Sample.objects.exists() and not Task.objects.exists()


def test_ranking_task_create_checks_its_samples(project):
    prompt = PromptFactory(project=project)
    samples = samples_create(prompt=prompt, texts=["a", "b", "c", "d"])
    task = ranking_task_create(prompt=prompt, samples=samples, priority=-1)
    assert list(task.task_samples.values_list("sample_id", flat=True)) == [s.pk for s in samples]
    with pytest.raises(ApplicationError):
        ranking_task_create(prompt=prompt, samples=samples[:3])
    with pytest.raises(ApplicationError):
        ranking_task_create(prompt=prompt, samples=[samples[0]] * 4)
    other = samples_create(prompt=PromptFactory(project=project), texts=["x"])
    with pytest.raises(ApplicationError):
        ranking_task_create(prompt=prompt, samples=samples[:3] + other)
    with pytest.raises(ApplicationError):
        samples_create(prompt=prompt, texts=["x"], origin="model")


def test_demo_seed_is_idempotent_and_gives_every_role_work():
    first = demo_seed()
    second = demo_seed()
    project = first.project
    assert first.prompts_created >= 20 and first.ranking_tasks_created >= 3
    assert (second.prompts_created, second.ranking_tasks_created) == (0, 0)
    assert Prompt.objects.filter(project=project, split="eval").exists()
    assert Task.objects.filter(project=project, kind="demonstration").count() == Prompt.objects.filter(project=project, split="train").count()
    for task in Task.objects.filter(project=project, kind="ranking"):
        assert task.task_samples.count() == project.k == 4
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.filter(username__in=["labeler", "labeler2", "admin", "engineer"])}
    assert {name: user_roles(u) for name, u in users.items()} == {
        "labeler": {"labeler"}, "labeler2": {"labeler"}, "admin": {"admin"}, "engineer": {"ml_engineer"},
    }
    assert users["admin"].check_password("admin-demo-pass")


def test_seed_demo_command_prints_logins(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "labeler-demo-pass" in out and "engineer" in out


def test_import_prompts_command(project, tmp_path, capsys):
    good = tmp_path / "prompts.csv"
    good.write_text("text,split\nWhat is one plus one?,train\nWhat is two plus two?,eval\n", encoding="utf-8")
    call_command("import_prompts", project.slug, str(good))
    assert "Imported 2 prompts" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok?"}\n{"txt": "typo"}\n', encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_prompts", project.slug, str(bad))
    assert "line 2, field txt" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("import_prompts", "no-such-project", str(good))
    assert Prompt.objects.count() == 2
