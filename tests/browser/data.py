"""Test data for the browser tests, made through the ORM (the API under test reads it back)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from labeling.models import Project, Prompt, Sample, Task, TaskSample

PASSWORD = "correct horse battery staple"


def user_with_roles(username: str, *roles: str):
    """A user in the given role groups (groups are recreated: transactional tests flush them)."""
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    for role in roles:
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


def project(slug: str = "helpful", *, guidelines: str = "Be **helpful**, honest and harmless.", k: int = 4) -> Project:
    return Project.objects.create(name=f"Project {slug}", slug=slug, guidelines=guidelines, k=k, overlap=1)


def demonstration_task(proj: Project, text: str = "Explain photosynthesis to a ten-year-old.") -> Task:
    prompt = Prompt.objects.create(project=proj, text=text, category="open_qa")
    return Task.objects.create(project=proj, prompt=prompt, kind=Task.Kind.DEMONSTRATION, overlap=1)


def ranking_task(proj: Project, prompt_text: str, sample_texts: list[str]) -> tuple[Task, list[Sample]]:
    prompt = Prompt.objects.create(project=proj, text=prompt_text, category="generation")
    task = Task.objects.create(project=proj, prompt=prompt, kind=Task.Kind.RANKING, overlap=1)
    samples = []
    for position, text in enumerate(sample_texts):
        sample = Sample.objects.create(prompt=prompt, text=text, origin=Sample.Origin.IMPORTED)
        TaskSample.objects.create(task=task, sample=sample, position=position)
        samples.append(sample)
    return task, samples
