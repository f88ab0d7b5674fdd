"""The three roles, as Django groups.

- labeler: claims tasks, writes demonstrations, ranks samples; sees only their own work.
- admin: manages projects, prompts, users and training rounds (superusers count as admins).
- ml_engineer: reads data, exports datasets, downloads checkpoints.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

LABELER = "labeler"
ADMIN = "admin"
ML_ENGINEER = "ml_engineer"
ALL_ROLES = (LABELER, ADMIN, ML_ENGINEER)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """Role names of ``user``; cached on the user object for the request."""
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_rlhf_roles", None)
    if cached is None:
        cached = cache_roles(user, user.groups.values_list("name", flat=True))
    return cached


def cache_roles(user: AbstractBaseUser, group_names) -> set[str]:
    """Remember ``user``'s roles, given the names of their groups, for this request."""
    roles = set(group_names) & set(ALL_ROLES)
    if user.is_superuser:
        roles.add(ADMIN)
    user._rlhf_roles = roles
    return roles


def is_labeler(user) -> bool:
    return LABELER in user_roles(user)


def is_admin(user) -> bool:
    return ADMIN in user_roles(user)


def is_ml_engineer(user) -> bool:
    return ML_ENGINEER in user_roles(user)
