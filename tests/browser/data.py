"""Test data for the browser tests, made through the labeling services (the same code the API
and the demo seed use), so the browser sees exactly what production would store."""

from __future__ import annotations

from labeling.models import Project, Sample, Task
from labeling.services.projects import project_create
from labeling.services.prompts import prompt_create
from labeling.services.tasks import ranking_task_create, samples_create
from labeling.services.users import user_create

PASSWORD = "correct horse battery staple"


def user_with_roles(username: str, *roles: str):
    return user_create(username=username, password=PASSWORD, roles=roles)


def project(slug: str = "helpful", *, guidelines: str = "Be **helpful**, honest and harmless.", k: int = 4) -> Project:
    return project_create(name=f"Project {slug}", slug=slug, guidelines=guidelines, k=k, overlap=1)


def demonstration_task(proj: Project, text: str = "Explain photosynthesis to a ten-year-old.") -> Task:
    prompt = prompt_create(project=proj, text=text, category="open_qa")
    return Task.objects.get(prompt=prompt, kind=Task.Kind.DEMONSTRATION)


def ranking_task(proj: Project, prompt_text: str, sample_texts: list[str]) -> tuple[Task, list[Sample]]:
    prompt = prompt_create(project=proj, text=prompt_text, category="generation", create_demonstration_tasks=False)
    samples = samples_create(prompt=prompt, texts=sample_texts)
    return ranking_task_create(prompt=prompt, samples=samples), samples
