"""False-positive rates: the feedback a detection engineer needs. Of the cases that were given
a verdict (a resolution), how many were false positives (a resolution that counts as one),
per correlation rule, per alert source and per detection name.

- rule: the correlation rule(s) whose alert groups opened or grew the case (a case grouped by
  two rules counts for both; cases opened by hand or promoted from the alert queue: no rule);
- source: the sources of the case's alerts;
- detection: the alert title, the detection's name as the normalized alert carries it (no
  adapter stores a separate rule/detection-name field).

A case counts once per name however many alerts it holds (COUNT DISTINCT). Each breakdown is
one GROUP BY query over the cases of the scope (``readable_cases``/``visible_cases``, so an
analyst sees rates over the cases they may see)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet

if TYPE_CHECKING:
    from cases.models import Case

# (name in the output, lookup from a case)
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("rule", "alert_groups__rule__name"),
    ("source", "alerts__source__name"),
    ("detection", "alerts__title"),
)
FALSE_POSITIVE = Q(resolution__counts_as_false_positive=True)
BREAKDOWN_LIMIT = 50
EXPORT_COLUMNS = ("dimension", "name", "verdicts", "false_positives", "false_positive_rate")


def _rate(false_positives: int, verdicts: int) -> float | None:
    return round(false_positives / verdicts, 4) if verdicts else None


def with_verdict(cases: QuerySet[Case]) -> QuerySet[Case]:
    return cases.filter(resolution__isnull=False)


def rate_rows(cases: QuerySet[Case], lookup: str, limit: int | None = BREAKDOWN_LIMIT) -> list[dict[str, Any]]:
    """[{name, verdicts, false_positives, false_positive_rate}] by most verdicts, then name;
    ``name`` None for cases without one (no rule)."""
    rows = (with_verdict(cases).order_by().values(lookup)
            .annotate(verdicts=Count("pk", distinct=True),
                      false_positives=Count("pk", distinct=True, filter=FALSE_POSITIVE))
            .order_by("-verdicts", lookup))
    if limit is not None:
        rows = rows[:limit]
    return [{"name": row[lookup], "verdicts": row["verdicts"], "false_positives": row["false_positives"],
             "false_positive_rate": _rate(row["false_positives"], row["verdicts"])} for row in rows]


def resolution_counts(cases: QuerySet[Case]) -> list[dict[str, Any]]:
    """Cases per verdict (the cases of the scope that have one)."""
    rows = (with_verdict(cases).order_by().values("resolution__slug", "resolution__name",
                                                   "resolution__counts_as_false_positive")
            .annotate(n=Count("pk")).order_by("-n", "resolution__name"))
    return [{"resolution": row["resolution__slug"], "name": row["resolution__name"],
             "false_positive": row["resolution__counts_as_false_positive"], "cases": row["n"]} for row in rows]


def false_positive_figures(cases: QuerySet[Case]) -> dict[str, Any]:
    """Every breakdown of the dashboard, the JSON API and the export, from the scope's cases."""
    by_resolution = resolution_counts(cases)
    verdicts = sum(row["cases"] for row in by_resolution)
    false_positives = sum(row["cases"] for row in by_resolution if row["false_positive"])
    return {
        "verdicts": verdicts,
        "false_positives": false_positives,
        "false_positive_rate": _rate(false_positives, verdicts),
        "by_resolution": by_resolution,
        **{f"per_{name}": rate_rows(cases, lookup) for name, lookup in DIMENSIONS},
    }


def export_rows(figures: Mapping[str, Any]) -> Iterable[tuple[Any, ...]]:
    """(dimension, name, verdicts, false_positives, false_positive_rate) rows of the figures."""
    for name, _ in DIMENSIONS:
        for row in figures[f"per_{name}"]:
            yield (name, row["name"], row["verdicts"], row["false_positives"], row["false_positive_rate"])
