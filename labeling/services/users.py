"""User management for admins: accounts and their roles."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from config.errors import ApplicationError, Conflict
from labeling.roles import ALL_ROLES


def _clean_roles(roles: Iterable[str]) -> list[str]:
    roles = list(roles)
    unknown = [r for r in roles if r not in ALL_ROLES]
    if unknown:
        raise ApplicationError(f"Unknown roles {unknown}; use {', '.join(ALL_ROLES)}.", details={"field": "roles"})
    return sorted(set(roles))


@transaction.atomic
def user_roles_set(*, user: AbstractBaseUser, roles: Iterable[str]) -> AbstractBaseUser:
    """Give ``user`` exactly these roles (other, non-role groups are kept)."""
    roles = _clean_roles(roles)
    groups = [Group.objects.get_or_create(name=role)[0] for role in roles]
    # Only role groups are ours to replace; other groups the user is in stay.
    user.groups.remove(*user.groups.filter(name__in=ALL_ROLES).exclude(name__in=roles))
    user.groups.add(*groups)
    user.__dict__.pop("_rlhf_roles", None)
    return user


@transaction.atomic
def user_create(*, username: str, password: str, roles: Iterable[str] = (), email: str = "") -> AbstractBaseUser:
    """Create an account with the given roles (labeler, admin, ml_engineer)."""
    clean_roles = _clean_roles(roles)
    User = get_user_model()
    user = User(username=username, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), details={"field": "password"}) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.full_clean(exclude=["password"])
            user.save()
    except ValidationError as exc:
        if "username" in exc.message_dict and User.objects.filter(username=username).exists():
            raise Conflict(f"The username {username!r} is taken.", code="username_taken") from exc
        raise
    except IntegrityError as exc:
        raise Conflict(f"The username {username!r} is taken.", code="username_taken") from exc
    user_roles_set(user=user, roles=clean_roles)
    return user


@transaction.atomic
def user_update(
    *, user: AbstractBaseUser, roles: Iterable[str] | None = None, is_active: bool | None = None, password: str | None = None
) -> AbstractBaseUser:
    """Change a user's roles, (de)activate the account, or set a new password."""
    if roles is not None:
        user_roles_set(user=user, roles=roles)
    fields = []
    if is_active is not None:
        user.is_active = is_active
        fields.append("is_active")
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages), details={"field": "password"}) from exc
        user.set_password(password)
        fields.append("password")
    if fields:
        user.save(update_fields=fields)
    if is_active is False:
        # A deactivated account loses its API token too; sessions fail on the is_active check.
        from rest_framework.authtoken.models import Token

        Token.objects.filter(user=user).delete()
    return user


@transaction.atomic
def user_deactivate(*, user: AbstractBaseUser) -> AbstractBaseUser:
    """Switch an account off without deleting the work it did."""
    return user_update(user=user, is_active=False)
