"""Set-based writes shared by the apps' bulk paths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Expression, F, Field, JSONField, Model
from django.db.models.lookups import In

ModelT = TypeVar("ModelT", bound=Model)


def bound_cursor() -> CursorWrapper:
    """On PostgreSQL, a cursor that sends its parameters apart from the statement (server-side
    binding), so that psycopg prepares a statement run often on a connection
    (SOAR_DB_PREPARE_THRESHOLD) and PostgreSQL parses and plans it once. Django's own cursors
    bind on the client: each statement is re-sent as text with its values inlined, and psycopg
    re-parses the placeholders of any statement longer than 4 kB at every execution. Wrapped
    like Django's cursors (execute wrappers, query logging, error translation)."""
    connection.ensure_connection()
    raw: Any = psycopg.Cursor(connection.connection)  # the stubs want a wrapper; Django wraps a DB-API cursor
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def _array_type(field: Field[Any, Any]) -> str:
    """The column's array type without its length (``varchar[]``, not ``varchar(20)[]``): a cast
    to varchar(n) would cut a longer value silently instead of failing like an INSERT does."""
    return f"{str(field.db_type(connection)).split('(')[0]}[]"


class AnyOf(In):
    """``column = ANY(%s)`` with the values as one array parameter, on PostgreSQL; ``IN (...)``
    elsewhere. Django's ``__in`` prepares each value and writes a placeholder per value: for
    a correlation chunk's 500 ids that cost its worker ~10 % of its CPU (per-value preparation,
    and psycopg parsing a statement too long for its cache at every execution), and PostgreSQL
    a parse of 500 parameters. The values are taken as they are: ints or strings of the
    column's type."""

    lookup_name = "any_of"

    def get_prep_lookup(self) -> Any:
        return list(self.rhs)

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, self.rhs)


def any_of(field: str, values: Iterable[Any]) -> Expression:
    """A filter: ``field`` is one of ``values`` (``Model.objects.filter(any_of("pk", ids))``)."""
    return AnyOf(F(field), values)  # the lookup makes it a list


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
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in (pk, *columns))
    key, *set_columns = [q(str(f.column)) for f in (pk, *columns)]
    names = ", ".join([key, *set_columns])
    assignments = ", ".join(f"{column} = v.{column}" for column in set_columns)
    # As in insert_rows: only the JSON columns need converting (wrapped for psycopg); psycopg
    # adapts the other values itself, and a conversion call per value and field cost a chunk's
    # worker ~10 % of its CPU.
    params: list[list[Any]] = [[obj.pk for obj in objs]]
    params += [[f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs] if isinstance(f, JSONField)
               else [getattr(obj, f.attname) for obj in objs] for f in columns]
    with bound_cursor() as cursor:
        cursor.execute(
            f"UPDATE {q(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - identifiers from the model's meta, quoted; values are %s parameters
            f"FROM unnest({arrays}) AS v({names}) WHERE t.{key} = v.{key}", params)


def insert_rows(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *,
                ignore_conflicts: bool = False, returning_pk: bool = False) -> list[int]:
    """Insert ``rows`` (values of ``fields``, in that order; a foreign key by its id) without
    building a model instance per row: on PostgreSQL one ``INSERT ... SELECT * FROM
    unnest(<one array per column>)`` on a bound cursor (prepared once per connection, see
    ``bound_cursor``). Returns the new primary keys in row order when ``returning_pk``
    (without ``ignore_conflicts``), like bulk_create's. Elsewhere (SQLite) it is bulk_create.
    No save(), no signal, no field defaults: every column without a database default is given."""
    if not rows:
        return []
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        if not isinstance(field, Field) or not field.concrete:
            raise ValueError(f"{model.__name__}.{name} is not a column")
        columns.append(field)
    if connection.vendor != "postgresql":
        objs = [model(**{f.attname: value for f, value in zip(columns, row, strict=True)}) for row in rows]
        created = model._default_manager.bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return [obj.pk for obj in created] if returning_pk else []
    q = connection.ops.quote_name
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in columns)
    names = ", ".join(q(str(f.column)) for f in columns)
    sql = f"INSERT INTO {q(meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608 - identifiers from the model's meta, quoted; values are %s parameters
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning_pk and meta.pk is not None:
        sql += f" RETURNING {q(str(meta.pk.column))}"
    # Only the JSON columns need converting (wrapped for psycopg); psycopg adapts the others.
    params = [[f.get_db_prep_save(value, connection) for value in values] if isinstance(f, JSONField)
              else list(values) for f, values in zip(columns, zip(*rows, strict=True), strict=True)]
    with bound_cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning_pk else []


def create_rows(objs: Sequence[ModelT], fields: Sequence[str]) -> list[ModelT]:
    """``bulk_create(objs)`` for new instances of one model, writing ``fields`` (every column
    without a database default): on PostgreSQL through ``insert_rows`` (no per-field compile and
    prepare of Django's INSERT), the fields' ``pre_save`` applied first (``auto_now_add``), the
    new primary keys set on the instances. No save(), no signal."""
    if not objs:
        return list(objs)
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    columns = [model._meta.get_field(name) for name in fields]
    rows = [[field.pre_save(obj, True) for field in columns] for obj in objs]  # type: ignore[union-attr]
    for obj, pk in zip(objs, insert_rows(model, fields, rows, returning_pk=True), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    return list(objs)
