"""Project services: create, change and retire labeling projects."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from config.errors import ApplicationError, Conflict
from labeling.models import Project

PROJECT_EDITABLE_FIELDS = ("name", "guidelines", "k", "overlap", "lease_seconds", "is_active")


def _check_project_values(values: dict[str, Any]) -> None:
    # The database also checks these ranges; checking here names the field in the 400.
    if "k" in values and not 2 <= int(values["k"]) <= 9:
        raise ApplicationError("k must be between 2 and 9.", details={"field": "k"})
    if "overlap" in values and not 1 <= int(values["overlap"]) <= 50:
        raise ApplicationError("overlap must be between 1 and 50.", details={"field": "overlap"})
    if "lease_seconds" in values and int(values["lease_seconds"]) < 30:
        raise ApplicationError("lease_seconds must be at least 30.", details={"field": "lease_seconds"})
    if "name" in values and not str(values["name"]).strip():
        raise ApplicationError("name must not be empty.", details={"field": "name"})


@transaction.atomic
def project_create(
    *,
    name: str,
    slug: str,
    guidelines: str = "",
    k: int = 4,
    overlap: int = 1,
    lease_seconds: int = 1800,
) -> Project:
    """Create a project. Raises Conflict if the slug is taken."""
    values = {"name": name, "k": k, "overlap": overlap, "lease_seconds": lease_seconds}
    _check_project_values(values)
    try:
        with transaction.atomic():
            return Project.objects.create(slug=slug, guidelines=guidelines, **values)
    except IntegrityError as exc:
        raise Conflict(f"A project with the slug {slug!r} already exists.", code="slug_taken") from exc


@transaction.atomic
def project_update(*, project: Project, **changes: Any) -> Project:
    """Change editable fields of a project (see PROJECT_EDITABLE_FIELDS).

    A new ``overlap`` applies to tasks created afterwards; existing tasks keep theirs, so
    work already handed out is never invalidated.
    """
    unknown = set(changes) - set(PROJECT_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown project fields: {', '.join(sorted(unknown))}.")
    _check_project_values(changes)
    for field, value in changes.items():
        setattr(project, field, value)
    project.save(update_fields=list(changes) or None)
    return project


@transaction.atomic
def project_deactivate(*, project: Project) -> Project:
    """Retire a project: it disappears from labelers' lists; its data stays for training and
    exports (deleting would cascade into labels that cost real work)."""
    project.is_active = False
    project.save(update_fields=["is_active"])
    return project
