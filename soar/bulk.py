"""Set-based writes shared by the apps' bulk paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model

# PostgreSQL takes at most 65,535 parameters in a statement.
MAX_PARAMS = 30_000


def update_rows(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> None:
    """``model.objects.bulk_update(objs, fields)``: the instances' current values of ``fields``
    written to their rows. On PostgreSQL, one ``UPDATE ... FROM (VALUES ...)`` per 30,000
    parameters: Django's bulk_update builds and compiles a CASE WHEN expression per row and
    field, which costs a worker about a millisecond of CPU per row, more than the update
    itself. Like bulk_update, it calls no save() and sends no signal."""
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
    casts = [f"%s::{f.cast_db_type(connection)}" for f in (pk, *columns)]
    row_sql = f"({', '.join(casts)})"
    key, *set_columns = [q(str(f.column)) for f in (pk, *columns)]
    names = ", ".join([key, *set_columns])
    assignments = ", ".join(f"{column} = v.{column}" for column in set_columns)
    per_statement = max(1, MAX_PARAMS // (len(columns) + 1))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start:start + per_statement]
            params: list[Any] = []
            for obj in batch:
                params.append(pk.get_db_prep_value(obj.pk, connection))
                params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns]
            cursor.execute(
                f"UPDATE {q(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - identifiers from the model's meta, quoted; values are %s parameters
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) AS v({names}) "
                f"WHERE t.{key} = v.{key}", params)
