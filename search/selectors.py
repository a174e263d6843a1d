"""Find anything: one text over case titles, descriptions, notes, observables and alert titles
and entities, answered in groups (cases, alerts, observables, notes), each limited to what the
user may read: every group ends in the owning app's visibility selector
(``cases.selectors.visible_cases``, ``alerts.selectors.visible_alerts_among`` /
``visible_observables``), so another team's objects appear neither as rows nor in the counts.

Each group is found in two steps (search/candidates.py): the text in its index alone, the
newest ``COUNT_CAP`` matches at most, then the visibility test on those candidates only. So a
rare text (an IP address) costs a few index pages whatever the size of the data, and a common
word costs at most ``COUNT_CAP`` candidates per group; its count then reads "N+" (N visible
among the newest ``COUNT_CAP`` matches), and its rows are the newest visible ones among them.

Every test means "contains, case-insensitively" (search/candidates.py): an IP address matches
exactly, as a prefix or as any substring of three characters or more."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from alerts import selectors as alert_selectors
from cases import selectors as case_selectors
from search import candidates

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


def _group(kind: str, label: str, found: tuple[list[int], bool], fetch: Callable[[list[int]], list[Any]],
           per_group: int) -> Group:
    """``found``: the visible matches' ids in display order (among at most ``COUNT_CAP``
    candidates, so counting them is free) and whether the candidates stopped at the cap;
    ``fetch`` reads the rows of one page of them."""
    ranked, truncated = found
    items = fetch(ranked[:per_group]) if ranked else []
    count = len(ranked)
    return Group(kind=kind, label=label, count=min(count, COUNT_CAP), capped=truncated or count > COUNT_CAP,
                 items=items)


def _newest_first(rows: Iterable[tuple[Any, ...]]) -> list[int]:
    """Ids of (id, sort key) rows, by sort key then id, both descending."""
    return [row[0] for row in sorted(rows, key=lambda row: (row[1], row[0]), reverse=True)]


def _case_number(text: str) -> int | None:
    number = text.lstrip("#")
    return int(number) if number.isdigit() and len(number) < 18 else None


# Each matching_* below answers with the visible matches' ids in display order (no ORDER BY ...
# LIMIT in SQL: over an id list, the planner would walk the ordering index of the whole table
# and test each row against the list) and whether the candidates stopped at the cap; each
# fetch_* reads the rows of one page of them.

def matching_cases(user: Actor, text: str) -> tuple[list[int], bool]:
    """The visible cases among the newest matches of each field, or the case of that number."""
    found = candidates.newest_cases(text, COUNT_CAP)
    query = Q(pk__in=found.ids)
    number = _case_number(text)
    if number is not None:
        query |= Q(pk=number)
    rows = case_selectors.visible_cases(user).filter(query).values_list("pk", "created_at")
    return _newest_first(rows), found.truncated


def fetch_cases(user: Actor, ids: list[int]) -> list[Any]:
    return list(case_selectors.visible_cases(user).filter(pk__in=ids).select_related("team", "assignee")
                .order_by("-created_at", "-id"))


def matching_alerts(user: Actor, text: str) -> tuple[list[int], bool]:
    found = candidates.newest("alert", text, COUNT_CAP)
    rows = alert_selectors.visible_alerts_among(user, found.ids).values_list("pk", "received_at")
    return _newest_first(rows), found.truncated


def fetch_alerts(user: Actor, ids: list[int]) -> list[Any]:
    return list(alert_selectors.visible_alerts_among(user, ids).select_related("source")
                .defer("raw", "description").order_by("-received_at", "-id"))


def matching_observables(user: Actor, text: str) -> tuple[list[int], bool]:
    found = candidates.newest("observable", text, COUNT_CAP)
    rows = alert_selectors.visible_observables(user).filter(pk__in=found.ids).values_list("pk", "type", "value")
    return [pk for pk, _type, _value in sorted(rows, key=lambda row: (row[1], row[2]))], found.truncated


def fetch_observables(user: Actor, ids: list[int]) -> list[Any]:
    return list(alert_selectors.visible_observables(user).filter(pk__in=ids).order_by("type", "value"))


def matching_notes(user: Actor, text: str) -> tuple[list[int], bool]:
    """Note ids: the matching notes of visible cases (each case's visibility looked up once)."""
    found = candidates.newest("note", text, COUNT_CAP, extra=("case_id", "created_at"))
    case_ids = {case_id for _note, case_id, _created in found.rows}
    visible = set(case_selectors.visible_cases(user).filter(pk__in=case_ids).values_list("pk", flat=True))
    rows = [(note, created) for note, case_id, created in found.rows if case_id in visible]
    return _newest_first(rows), found.truncated


def fetch_notes(user: Actor, ids: list[int]) -> list[Any]:
    """One row per note, its fields through its case (the values() reuse the filter's join, so
    each row is one of these notes)."""
    return list(case_selectors.visible_cases(user).filter(notes__pk__in=ids)
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
        by_number = list(case_selectors.visible_cases(user).filter(pk=int(number)).values_list("pk", flat=True))
        results.groups = [_group("cases", "Cases", (by_number, False), partial(fetch_cases, user), per_group)]
        return results
    results.groups = [
        _group("cases", "Cases", matching_cases(user, text), partial(fetch_cases, user), per_group),
        _group("alerts", "Alerts", matching_alerts(user, text), partial(fetch_alerts, user), per_group),
        _group("observables", "Observables", matching_observables(user, text), partial(fetch_observables, user),
               per_group),
        _group("notes", "Notes", matching_notes(user, text), partial(fetch_notes, user), per_group),
    ]
    return results
