"""Shared factory_boy factories for labeling data. Anyone may import these.

``UserFactory(roles=["labeler"])`` puts the user in role groups; ``RankingTaskFactory``
builds a ranking task with ``project.k`` samples; ``DemonstrationTaskFactory`` a
demonstration task for a fresh prompt.
"""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from labeling.models import Project, Prompt, Sample, Task, TaskSample, text_digest

PASSWORD = "pw-test-123456"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*[Group.objects.get_or_create(name=role)[0] for role in extracted])
        if create:
            self.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    guidelines = "Be helpful, honest and harmless."
    k = 4
    overlap = 1


class PromptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prompt

    project = factory.SubFactory(ProjectFactory)
    text = factory.Sequence(lambda n: f"Question number {n}?")
    text_hash = factory.LazyAttribute(lambda o: text_digest(o.text))


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    prompt = factory.SubFactory(PromptFactory)
    text = factory.Sequence(lambda n: f"Answer {n}.")
    origin = Sample.Origin.IMPORTED


class DemonstrationTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    prompt = factory.SubFactory(PromptFactory, project=factory.SelfAttribute("..project"))
    kind = Task.Kind.DEMONSTRATION
    overlap = factory.LazyAttribute(lambda o: o.project.overlap)


class RankingTaskFactory(DemonstrationTaskFactory):
    """A ranking task with ``project.k`` imported samples (or ``samples__n``)."""

    kind = Task.Kind.RANKING

    @factory.post_generation
    def samples(self, create, extracted, n: int | None = None, **kwargs):
        if not create:
            return
        count = n or self.project.k
        samples = extracted or [SampleFactory(prompt=self.prompt) for _ in range(count)]
        TaskSample.objects.bulk_create([TaskSample(task=self, sample=s, position=i) for i, s in enumerate(samples)])
