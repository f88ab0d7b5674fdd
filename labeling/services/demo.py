"""The demo: accounts for every role and a project with work waiting, built from files
shipped in ``labeling/demo_data/``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.models import Project, Prompt, Sample, Task
from labeling.roles import ADMIN, LABELER, ML_ENGINEER
from labeling.services.prompts import prompts_import
from labeling.services.tasks import ranking_task_create, samples_create
from labeling.services.users import user_roles_set

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data"
DEMO_PROJECT_SLUG = "demo"
# (username, role); the password is "<username>-demo-pass" (printed by the command).
DEMO_ACCOUNTS = (("labeler", LABELER), ("labeler2", LABELER), ("admin", ADMIN), ("engineer", ML_ENGINEER))
DEMO_GUIDELINES = """\
# How to label

**Demonstrations.** Write the answer you would want from a helpful assistant. For these
questions that is short: *"What color is the sky?"* -> **Blue.**

**Rankings.** Put the best answer first. Prefer answers that are correct, then brief.
Drag answers into the same group when you cannot tell them apart (a tie). Score each answer
from 1 (useless) to 7 (perfect) and flag anything harmful, made up or off-instruction.
"""


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


@dataclass
class DemoSeedResult:
    project: Project
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)
    prompts_created: int = 0
    ranking_tasks_created: int = 0


@transaction.atomic
def demo_seed() -> DemoSeedResult:
    """Create (or complete) the demo accounts and project. Safe to run again: existing
    accounts, prompts and ranking tasks are left as they are, and passwords are reset to the
    printed demo passwords."""
    User = get_user_model()
    result_accounts = []
    for username, role in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(demo_password(username))
        user.is_active = True
        user.is_staff = role == ADMIN
        user.save()
        user_roles_set(user=user, roles=[role])
        result_accounts.append((username, demo_password(username), role))

    project, _ = Project.objects.get_or_create(
        slug=DEMO_PROJECT_SLUG,
        defaults={"name": "Demo: short answers", "guidelines": DEMO_GUIDELINES, "k": 4, "overlap": 1},
    )
    result = DemoSeedResult(project=project, accounts=result_accounts)

    known = set(Prompt.objects.filter(project=project).values_list("text", flat=True))
    lines = [
        line for line in (DEMO_DATA / "prompts.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["text"] not in known
    ]
    if lines:
        result.prompts_created = len(prompts_import(project=project, data="\n".join(lines).encode(), format="jsonl"))

    for line in (DEMO_DATA / "ranking_samples.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        prompt = Prompt.objects.get(project=project, text=item["prompt"])
        if Task.objects.filter(prompt=prompt, kind=Task.Kind.RANKING, round_number__isnull=True).exists():
            continue
        samples = samples_create(prompt=prompt, texts=item["samples"], origin=Sample.Origin.IMPORTED)
        ranking_task_create(prompt=prompt, samples=samples)
        result.ranking_tasks_created += 1
    return result
