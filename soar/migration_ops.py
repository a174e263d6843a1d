"""Operations shared by migrations. Kept tiny and stable: migrations import it forever."""

from django.db import migrations


def postgresql_only(forward: str, backward: str = "") -> migrations.RunPython:
    """Run raw SQL on PostgreSQL and nothing on SQLite (the embedded mode has no triggers,
    statistics objects or rollups; it computes those figures directly)."""

    def run(sql):
        def apply(apps, schema_editor):
            if sql and schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)
        return apply

    return migrations.RunPython(run(forward), run(backward))
