"""Set-based writes shared by the apps' bulk paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model


def bound_cursor() -> CursorWrapper:
    """On PostgreSQL, a cursor that sends its parameters apart from the statement (server-side
    binding), so that psycopg prepares a statement run often on a connection
    (SOAR_DB_PREPARE_THRESHOLD) and PostgreSQL parses and plans it once. Django's own cursors
    bind on the client: each statement is re-sent as text with its values inlined, and psycopg
    re-parses the placeholders of any statement longer than 4 kB at every execution. Wrapped
    like Django's cursors (execute wrappers, query logging, error translation)."""
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def update_rows(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> None:
    """``model.objects.bulk_update(objs, fields)``: the instances' current values of ``fields``
    written to their rows. On PostgreSQL, one ``UPDATE ... FROM unnest(<one array per
    column>)``: the statement's text depends only on the model and the fields, so it is
    prepared once per connection (``bound_cursor``), whatever the number of rows. Django's
    bulk_update builds and compiles a CASE WHEN expression per row and field, which costs a
    worker about a millisecond of CPU per row, more than the update itself; a ``VALUES`` list
    of one placeholder per value costs psycopg and PostgreSQL a parse per statement. Like
    bulk_update, it calls no save() and sends no signal."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields)
        return
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        if not isinstance(field, Field) or not field.concrete or field.primary_key:
            raise ValueError(f"{model.__name__}.{name} is not a column that can be updated")
        columns.append(field)
    pk = meta.pk
    if pk is None:
        raise ValueError(f"{model.__name__} has no primary key")
    q = connection.ops.quote_name
    arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in (pk, *columns))
    key, *set_columns = [q(str(f.column)) for f in (pk, *columns)]
    names = ", ".join([key, *set_columns])
    assignments = ", ".join(f"{column} = v.{column}" for column in set_columns)
    params: list[list[Any]] = [[pk.get_db_prep_value(obj.pk, connection) for obj in objs]]
    params += [[f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs] for f in columns]
    with bound_cursor() as cursor:
        cursor.execute(
            f"UPDATE {q(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - identifiers from the model's meta, quoted; values are %s parameters
            f"FROM unnest({arrays}) AS v({names}) WHERE t.{key} = v.{key}", params)
