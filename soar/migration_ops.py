"""Operations shared by migrations. Kept tiny and stable: migrations import it forever."""

from collections.abc import Callable

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

Operation = Callable[[Apps, BaseDatabaseSchemaEditor], None]


def postgresql_only(forward: str, backward: str = "") -> migrations.RunPython:
    """Run raw SQL on PostgreSQL and nothing on SQLite (the embedded mode has no triggers,
    statistics objects or rollups; it computes those figures directly)."""

    def run(sql: str) -> Operation:
        def apply(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
            if sql and schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)
        return apply

    return migrations.RunPython(run(forward), run(backward))


def per_vendor(forward: dict[str, list[str]], backward: dict[str, list[str]] | None = None) -> migrations.RunPython:
    """Run raw SQL statements chosen by database vendor ("postgresql", "sqlite"); a vendor not
    listed gets nothing. One statement per list item (SQLite executes one at a time)."""

    def run(statements_by_vendor: dict[str, list[str]] | None) -> Operation:
        def apply(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
            for sql in (statements_by_vendor or {}).get(schema_editor.connection.vendor, []):
                schema_editor.execute(sql, params=None)
        return apply

    return migrations.RunPython(run(forward), run(backward))
