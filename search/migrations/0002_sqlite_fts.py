"""SQLite (embedded mode): FTS5 trigram tables and their triggers (search/fts.py). Nothing on
PostgreSQL, whose indexes are migration 0001's."""

from django.db import migrations

from search.fts import drop_fts, ensure_fts


def forwards(apps, schema_editor):
    ensure_fts(schema_editor.connection)


def backwards(apps, schema_editor):
    drop_fts(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0001_trigram_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
