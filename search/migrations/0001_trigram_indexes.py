"""Trigram indexes for "find anything" (search.selectors) and the case queue's text filter
(cases.filtersets.case_text_q), PostgreSQL only.

Django writes ``field__icontains=value`` as ``UPPER(column::text) LIKE UPPER('%value%')``;
a GIN index on that same expression with ``gin_trgm_ops`` answers it for any substring of
three characters or more (an IP address exactly or as a prefix, a host name, a word in a note)
without reading the table. One index per searched column, so a search is a BitmapOr of index
scans. ``pg_trgm`` ships with PostgreSQL (contrib); creating it needs the CREATE privilege on
the database (the owner has it). On SQLite (embedded mode) the same queries scan the tables:
fine at embedded sizes (docs/analyst-guide.md)."""

from django.db import migrations

from soar.migration_ops import postgresql_only

# (index name, table, column)
INDEXES = [
    ("search_case_title_trgm", "cases_case", "title"),
    ("search_case_description_trgm", "cases_case", "description"),
    ("search_note_body_trgm", "cases_note", "body"),
    ("search_observable_value_trgm", "alerts_observable", "value"),
    ("search_alert_title_trgm", "alerts_alert", "title"),
    ("search_alert_entity_trgm", "alerts_alert", "entity_value"),
]

FORWARD = "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n" + "\n".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER({column}::text)) gin_trgm_ops);"
    for name, table, column in INDEXES
)
# The extension stays: other objects may use it, and dropping it needs more privileges.
BACKWARD = "\n".join(f"DROP INDEX IF EXISTS {name};" for name, _table, _column in INDEXES)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0013_user_preference"),
        ("alerts", "0010_alert_dismissal"),
    ]

    operations = [postgresql_only(FORWARD, BACKWARD)]
