"""Token authentication in one query: the token, its user and the user's role names together.

DRF's own TokenAuthentication loads the token and user in one query, and the first role check
then loads the user's groups in a second; every scripted request paid both. Here one statement
returns the user's row once per group (a LEFT JOIN, so a user with no group gives one row), and
the roles are cached on the user the way :func:`labeling.roles.user_roles` expects.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from labeling.roles import cache_roles
from labeling.sql import hot_cursor


def _token_sql() -> tuple[str, list[str]]:
    User = get_user_model()
    fields = [f.attname for f in User._meta.concrete_fields]
    membership = User.groups.through._meta
    columns = ", ".join(f'u."{User._meta.get_field(name).column}"' for name in fields)
    sql = (
        f'SELECT {columns}, g."name" FROM "{Token._meta.db_table}" t '
        f'JOIN "{User._meta.db_table}" u ON u."{User._meta.pk.column}" = t."user_id" '
        f'LEFT JOIN "{membership.db_table}" ug ON ug."user_id" = u."{User._meta.pk.column}" '
        f'LEFT JOIN "{Group._meta.db_table}" g ON g."id" = ug."group_id" '
        'WHERE t."key" = %s'
    )
    return sql, fields


class RoleTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, with the user's roles loaded in the same query."""

    _sql: tuple[str, list[str]] | None = None

    def authenticate_credentials(self, key):
        if RoleTokenAuthentication._sql is None:
            RoleTokenAuthentication._sql = _token_sql()
        sql, fields = RoleTokenAuthentication._sql
        with hot_cursor() as cursor:
            cursor.execute(sql, [key])
            rows = cursor.fetchall()
        if not rows:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = get_user_model().from_db(connection.alias, fields, list(rows[0][: len(fields)]))
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        cache_roles(user, [row[-1] for row in rows if row[-1] is not None])
        return user, Token(key=key, user=user)
