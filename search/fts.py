"""SQLite (embedded mode): FTS5 tables with the trigram tokenizer beside the searched columns,
kept in sync by triggers, so that "find anything" looks text up in an index there too (on
PostgreSQL the trigram GIN indexes of migration 0001 do this job; nothing here runs there).

Each FTS table is an external-content table over its source table (the text is not stored
twice; ``rowid`` is the row's id). A quoted phrase MATCH on a trigram table finds rows whose
columns contain the phrase as a substring, case-insensitively (three characters or more): the
same meaning as ``icontains``.

Django rebuilds a SQLite table to alter it (create, copy, drop, rename), which drops that
table's triggers: ``ensure_fts`` is therefore also run after every ``migrate``
(``SearchConfig.ready``) and puts back whatever is missing, then rebuilds the indexes."""

from __future__ import annotations

from typing import Any

# (FTS table, source table, searched columns)
FTS_TABLES = [
    ("search_fts_case", "cases_case", ("title", "description")),
    ("search_fts_note", "cases_note", ("body",)),
    ("search_fts_observable", "alerts_observable", ("value",)),
    ("search_fts_alert", "alerts_alert", ("title", "entity_value")),
]


# Every identifier below comes from FTS_TABLES (constants); user text only ever reaches the
# database as a parameter (ids_matching).
def _statements(fts: str, table: str, columns: tuple[str, ...]) -> list[str]:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    delete_old = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"  # noqa: S608
    insert_new = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"  # noqa: S608
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({cols}, content='{table}', content_rowid='id', "
        "tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN {insert_new} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN {delete_old} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN {delete_old} {insert_new} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # noqa: S608
    ]


def ensure_fts(connection: Any) -> None:
    """Create the FTS tables and triggers that are missing and rebuild the indexes (SQLite only)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for fts, table, columns in FTS_TABLES:
            for sql in _statements(fts, table, columns):
                cursor.execute(sql)


def drop_fts(connection: Any) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for fts, _table, _columns in FTS_TABLES:
            for suffix in ("ai", "ad", "au"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: a substring to find, whatever characters it holds."""
    return '"' + text.replace('"', '""') + '"'


def ids_matching(fts: str, text: str, column: str = "") -> tuple[str, list[str]]:
    """SQL selecting the ids of the rows whose columns (or ``column``) contain ``text``, and its
    parameters (for ``RawSQL``)."""
    assert fts in {name for name, _t, _c in FTS_TABLES}  # noqa: S101 - a constant of this module, never input
    query = f"{{{column}}} : {phrase(text)}" if column else phrase(text)
    return f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [query]  # noqa: S608 - fts is one of FTS_TABLES


def case_ids_matching(text: str) -> tuple[str, list[str]]:
    """SQL selecting the ids of the cases whose title or description, a note, an observable or an
    alert's entity contains ``text`` (cases.filtersets.case_text_q, answered by the FTS tables)."""
    parts, params = [], []
    for fts, column, template in (
        ("search_fts_case", "", "{ids}"),
        ("search_fts_note", "", "SELECT case_id FROM cases_note WHERE id IN ({ids})"),
        ("search_fts_observable", "", "SELECT case_id FROM cases_case_observables WHERE observable_id IN ({ids})"),
        ("search_fts_alert", "entity_value",
         "SELECT case_id FROM alerts_alert WHERE case_id IS NOT NULL AND id IN ({ids})"),
    ):
        sql, part_params = ids_matching(fts, text, column)
        parts.append(template.format(ids=sql))
        params += part_params
    return " UNION ".join(parts), params
