"""Find anything: one text over case titles, descriptions, notes, observables and alert titles
and entities, answered in groups (cases, alerts, observables, notes), each limited to what the
user may read: every group starts from the owning app's visibility selector
(``cases.selectors.visible_cases``, ``alerts.selectors.visible_alerts`` / ``visible_observables``),
so another team's objects appear neither as rows nor in the counts.

Every test means "contains, case-insensitively", and each is answered by an index: on
PostgreSQL an ``icontains`` served by a trigram GIN index (search/migrations/0001), on SQLite
a phrase MATCH on an FTS5 trigram table (search/fts.py). So an IP address matches exactly, as a
prefix or as any substring of three characters or more. Counts stop at ``COUNT_CAP`` ("1000+"):
counting every match of a common word over a million alerts would cost more than the page is
worth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from alerts import selectors as alert_selectors
from cases import selectors as case_selectors
from cases.filtersets import case_text_q
from search import fts

if TYPE_CHECKING:
    from cases.roles import Actor

MIN_CHARS = 3  # a trigram: shorter text cannot use the indexes (a case number is always allowed)
MAX_CHARS = 200
PER_GROUP = 20
COUNT_CAP = 1000


@dataclass
class Group:
    kind: str  # "cases", "alerts", "observables", "notes"
    label: str
    count: int
    capped: bool  # count is COUNT_CAP and there may be more
    items: list[Any] = field(default_factory=list)


@dataclass
class Results:
    text: str
    groups: list[Group] = field(default_factory=list)
    refused: str = ""  # why the text was not searched ("" when it was)

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)


def normalize_text(text: str) -> str:
    return " ".join(text.split())[:MAX_CHARS]


def _capped_count(queryset: QuerySet[Any]) -> tuple[int, bool]:
    count = queryset.order_by()[:COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def _group(kind: str, label: str, queryset: QuerySet[Any], per_group: int) -> Group:
    items = list(queryset[:per_group])
    # A short page is the whole answer: count only when there may be more (one query, not two).
    count, capped = (len(items), False) if len(items) < per_group else _capped_count(queryset)
    return Group(kind=kind, label=label, count=count, capped=capped, items=items)


def _fts() -> bool:
    return connection.vendor == "sqlite"


def _ids(fts_table: str, text: str, column: str = "") -> RawSQL:
    return RawSQL(*fts.ids_matching(fts_table, text, column))  # noqa: S611 - constant SQL, text as a parameter


def _case_text_q_sqlite(text: str) -> Q:
    """``cases.filtersets.case_text_q`` through the FTS5 tables: the same fields, each from its index."""
    query = Q(pk__in=RawSQL(*fts.case_ids_matching(text)))  # noqa: S611 - constant SQL, text as a parameter
    number = text.lstrip("#")
    if number.isdigit() and len(number) < 18:
        query |= Q(pk=int(number))
    return query


def matching_cases(user: Actor, text: str) -> QuerySet[Any]:
    query = _case_text_q_sqlite(text) if _fts() else case_text_q(text)
    return (case_selectors.visible_cases(user).filter(query).select_related("team", "assignee")
            .order_by("-created_at", "-id"))


def matching_alerts(user: Actor, text: str) -> QuerySet[Any]:
    query = Q(pk__in=_ids("search_fts_alert", text)) if _fts() else \
        Q(title__icontains=text) | Q(entity_value__icontains=text)
    return (alert_selectors.visible_alerts(user).filter(query)
            .select_related("source").defer("raw", "description").order_by("-received_at", "-id"))


def matching_observables(user: Actor, text: str) -> QuerySet[Any]:
    query = Q(pk__in=_ids("search_fts_observable", text)) if _fts() else Q(value__icontains=text)
    return alert_selectors.visible_observables(user).filter(query).order_by("type", "value")


def matching_notes(user: Actor, text: str) -> QuerySet[Any]:
    """One row per matching note of a visible case: the note's fields come through the case
    (the values() below reuse the filter's join, so each row is a note that matched)."""
    query = Q(notes__pk__in=_ids("search_fts_note", text)) if _fts() else Q(notes__body__icontains=text)
    return (case_selectors.visible_cases(user).filter(query)
            .values("pk", "title", "notes__pk", "notes__body", "notes__created_at", "notes__author__username")
            .order_by("-notes__created_at", "-notes__pk"))


def search(user: Actor, text: str, *, per_group: int = PER_GROUP) -> Results:
    text = normalize_text(text)
    results = Results(text=text)
    if not text:
        return results
    if len(text) < MIN_CHARS:
        number = text.lstrip("#")
        if not number.isdigit():
            results.refused = f"Type at least {MIN_CHARS} characters."
            return results
        # A short number is a case number (#7), not a substring to look for everywhere.
        by_number = case_selectors.visible_cases(user).filter(pk=int(number)).select_related("team", "assignee")
        results.groups = [_group("cases", "Cases", by_number, per_group)]
        return results
    results.groups = [
        _group("cases", "Cases", matching_cases(user, text), per_group),
        _group("alerts", "Alerts", matching_alerts(user, text), per_group),
        _group("observables", "Observables", matching_observables(user, text), per_group),
        _group("notes", "Notes", matching_notes(user, text), per_group),
    ]
    return results
