"""Labeling services: every write goes through one of these functions (keyword-only
arguments, one transaction each), whether it comes from the API, the admin, a management
command or the training app."""

from labeling.services.assignments import (
    KIND_PREFERENCE,
    assignment_claim_next,
    assignment_draft_save,
    assignment_heartbeat,
    assignment_skip,
)
from labeling.services.demo import demo_seed
from labeling.services.projects import project_create, project_deactivate, project_update
from labeling.services.prompts import prompt_create, prompt_delete, prompt_update, prompts_import
from labeling.services.submissions import SubmitResult, assignment_submit_demonstration, assignment_submit_ranking
from labeling.services.tasks import (
    demonstration_task_create,
    ranking_task_create,
    ranking_tasks_create_from_model,
    samples_create,
)
from labeling.services.users import user_create, user_deactivate, user_roles_set, user_update

__all__ = [
    "KIND_PREFERENCE",
    "SubmitResult",
    "assignment_claim_next",
    "assignment_draft_save",
    "assignment_heartbeat",
    "assignment_skip",
    "assignment_submit_demonstration",
    "assignment_submit_ranking",
    "demo_seed",
    "demonstration_task_create",
    "project_create",
    "project_deactivate",
    "project_update",
    "prompt_create",
    "prompt_delete",
    "prompt_update",
    "prompts_import",
    "ranking_task_create",
    "ranking_tasks_create_from_model",
    "samples_create",
    "user_create",
    "user_deactivate",
    "user_roles_set",
    "user_update",
]
