"""Small helpers for the raw SQL on the labeling hot path (next task, submit, payload).

That SQL runs on PostgreSQL and on the embedded SQLite default. The ORM converts values both
ways for us; raw statements do it here: datetimes as the database compares them, JSON in the
field's own database form, and values read back (SQLite returns datetimes and JSON as text,
booleans as integers).
"""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def param_datetime(value: datetime | None):
    """``value`` as a query parameter compared with datetime columns in raw SQL."""
    return connection.ops.adapt_datetimefield_value(value)


def param_json(model: type[Model], field: str, value: Any):
    """``value`` as a query parameter for the JSON column ``model.field``."""
    return model._meta.get_field(field).get_db_prep_value(value, connection)


def read_datetime(value) -> datetime | None:
    """A datetime column read by raw SQL, as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, dt_timezone.utc) if value is not None and timezone.is_naive(value) else value


def read_json(value):
    """A JSON column (or json aggregate) read by raw SQL, as Python data."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def instance(model: type[Model], values: dict[str, Any]) -> Model:
    """A model instance from a raw row, ``values`` keyed by attname: those fields are loaded,
    every other field is deferred and loads on first access, as with ``QuerySet.only``."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, fields, [values[name] for name in fields])


# Per (model, database vendor): the SELECT list of the model's concrete fields and, per field,
# the converters the ORM would apply to the value read (built once: working them out is most
# of what a small ORM query costs).
_READERS: dict[tuple[type[Model], str], tuple[str, list[str], list[tuple[int, list]]]] = {}


def _reader(model: type[Model]):
    key = (model, connection.vendor)
    if key not in _READERS:
        table = model._meta.db_table
        fields = list(model._meta.concrete_fields)
        quote = connection.ops.quote_name
        converters = []
        for index, field in enumerate(fields):
            column = field.get_col(table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                converters.append((index, [(convert, column) for convert in found]))
        select = ", ".join(f"{quote(table)}.{quote(f.column)}" for f in fields)
        _READERS[key] = (select, [f.attname for f in fields], converters)
    return _READERS[key]


def select_one(model: type[Model], where: str, params) -> Model | None:
    """The one ``model`` row matching ``where`` (raw SQL over the model's table), as a model
    instance with every concrete field loaded and converted as the ORM does; None if none."""
    select, attnames, converters = _reader(model)
    with hot_cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {connection.ops.quote_name(model._meta.db_table)} WHERE {where}", params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, chain in converters:
        for convert, column in chain:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, attnames, values)


def in_values(values, *, pg_type: str = "bigint") -> RawSQL:
    """A subquery yielding ``values``, for ``filter(field__in=in_values(values))``, that sends them
    as ONE query parameter however many there are. A plain ``__in=[...]`` sends one parameter per
    value, and an import, a big round or a frozen snapshot can hold more values than a statement
    may take (65,535 on PostgreSQL when bound on the server; SQLite builds differ, some stop at
    32,766). ``pg_type``: the values' PostgreSQL type."""
    values = list(values)
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT unnest(%s::{pg_type}[])", [values])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])


def ids_subquery(ids) -> RawSQL:
    """``in_values`` for primary keys."""
    return in_values([int(i) for i in ids])


def hot_cursor():
    """A cursor for the labeling queue's own statements (next task, submit, payload, token auth).

    On PostgreSQL (unless DATABASE_PREPARED_STATEMENTS=0) it binds parameters on the server, so
    psycopg prepares each statement after a few runs on a connection and Postgres then skips
    parsing and planning it. Everything else keeps Django's client-side binding: server-side
    binding caps a statement at 65,535 parameters, which the ORM's own IN lists (prefetches,
    cascading deletes) can pass on a big project.
    """
    if not settings.LABELING["PREPARED_STATEMENTS"] or connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
