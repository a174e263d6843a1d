"""The first step of a search: the ids of the newest rows whose text contains the searched text,
looked up in the text indexes alone, before any visibility test, and at most ``limit`` of them
per kind.

Why two steps: visibility tested first means the list of every case the user can see (half
of 100,000 for an analyst) built and hashed for each group before the first match is looked
at; a text looked up first, in its index, finds a handful of rows for an IP address, and the
visibility test then costs a primary-key look-up per candidate (search.selectors). The bound
keeps a common word ("proxy" in 50,000 notes) from turning into 50,000 candidates: the newest
``limit`` matches are the ones looked at, and the group says so ("1000+").

Each test means "contains, case-insensitively", answered by an index: on PostgreSQL
``UPPER(column::text) LIKE UPPER('%text%')``, the very expression of the trigram GIN indexes
(search/migrations/0001); on SQLite a phrase MATCH on the FTS5 trigram tables (search/fts.py).
Every identifier below is a constant of this module; the text only ever reaches the database
as a parameter."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from search import fts

# kind -> (table, searched columns, FTS table on SQLite)
SOURCES = {
    "case": ("cases_case", ("title", "description"), "search_fts_case"),
    "note": ("cases_note", ("body",), "search_fts_note"),
    "observable": ("alerts_observable", ("value",), "search_fts_observable"),
    "alert": ("alerts_alert", ("title", "entity_value"), "search_fts_alert"),
    "alert_entity": ("alerts_alert", ("entity_value",), "search_fts_alert"),
}


@dataclass
class Candidates:
    rows: list[tuple]  # (id, *extra columns), newest first
    truncated: bool  # ``limit`` rows were found: there may be more matches

    @property
    def ids(self) -> list[int]:
        return [row[0] for row in self.rows]


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE, with LIKE's own characters taken literally (as Django's icontains)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(kind: str, alias: str, text: str) -> tuple[str, list[str]]:
    table, columns, fts_table = SOURCES[kind]
    if connection.vendor == "sqlite":
        column = columns[0] if kind == "alert_entity" else ""
        sql, params = fts.ids_matching(fts_table, text, column)
        return f"{alias}.id IN ({sql})", params
    tests = " OR ".join(f"UPPER({alias}.{column}::text) LIKE UPPER(%s)" for column in columns)
    return f"({tests})", [like_pattern(text)] * len(columns)


def newest(kind: str, text: str, limit: int, extra: tuple[str, ...] = ()) -> Candidates:
    """The newest (highest id) ``limit`` rows of ``kind`` whose text contains ``text``: their id
    and the ``extra`` columns (constants of the caller)."""
    table = SOURCES[kind][0]
    test, params = _contains(kind, "t", text)
    columns = ", ".join(["t.id", *(f"t.{column}" for column in extra)])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} t WHERE {test} ORDER BY t.id DESC LIMIT %s",  # noqa: S608
                       [*params, limit])
        rows = [tuple(row) for row in cursor.fetchall()]
    return Candidates(rows=rows, truncated=len(rows) >= limit)


def newest_cases(text: str, limit: int) -> Candidates:
    """Ids of the cases whose title or description, a note, an observable or an alert's entity
    contains ``text`` (the fields of ``cases.filtersets.case_text_q``): the newest ``limit``
    matches of each field, one statement."""
    case_test, case_params = _contains("case", "t", text)
    note_test, note_params = _contains("note", "t", text)
    observable_test, observable_params = _contains("observable", "o", text)
    entity_test, entity_params = _contains("alert_entity", "t", text)
    branches = [
        (f"SELECT t.id, 1 FROM cases_case t WHERE {case_test} ORDER BY t.id DESC", case_params),  # noqa: S608
        (f"SELECT t.case_id, 2 FROM cases_note t WHERE {note_test} ORDER BY t.id DESC", note_params),  # noqa: S608
        ("SELECT l.case_id, 3 FROM alerts_observable o JOIN cases_case_observables l ON l.observable_id = o.id "  # noqa: S608
         f"WHERE {observable_test} ORDER BY l.case_id DESC", observable_params),
        # Queued alerts (no case) among them too (a NULL, dropped below): testing case_id here
        # would invite the planner to read the case_id index instead of the entity's.
        (f"SELECT t.case_id, 4 FROM alerts_alert t WHERE {entity_test} ORDER BY t.id DESC",  # noqa: S608
         entity_params),
    ]
    parts: list[str] = []
    params: list[str | int] = []
    for sql, branch_params in branches:
        parts.append(f"SELECT * FROM ({sql} LIMIT %s) b")  # noqa: S608 - constant SQL, see above
        params += [*branch_params, limit]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    per_branch: dict[int, int] = {}
    for _case_id, branch in rows:
        per_branch[branch] = per_branch.get(branch, 0) + 1
    ids = dict.fromkeys(case_id for case_id, _branch in rows if case_id is not None)
    return Candidates(rows=[(case_id,) for case_id in ids], truncated=any(n >= limit for n in per_branch.values()))
