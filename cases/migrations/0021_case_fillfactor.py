"""Room in each page of ``cases_case`` for a new version of its rows (fillfactor 70, PostgreSQL).

Correlation touches a case's ``updated_at`` every time an alert joins it (a storm: every case
of every chunk). ``updated_at`` is in no index, so PostgreSQL can write the new row version as
a heap-only tuple (HOT) and skip the table's sixteen indexes, two of them trigram GINs, but
only when the page that holds the row has free space; at the default fillfactor (100) the
pages are full and every update goes through every index. Measured with
``bench.correlation_profile`` (10,000 storm alerts): that UPDATE's PostgreSQL CPU 1.05-1.14 s
-> 0.24-0.29 s, PostgreSQL's CPU per correlated alert -12 %. The table takes ~30 % more pages.

The setting applies to pages written from now on; an existing table gets it for its old rows
with a rewrite (``VACUUM FULL cases_case`` or pg_repack), which this migration does not do:
it would lock the table. SQLite has no fillfactor."""

from django.db import migrations


def set_fillfactor(apps, schema_editor, value: int = 70) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE cases_case SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE cases_case RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0020_case_custom_fields_db_default"),
    ]

    operations = [
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
