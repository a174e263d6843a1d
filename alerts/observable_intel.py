"""Reads of observable intelligence: the per-case observable table (with what analysts said
about each, ``CaseObservable``), "seen in N other cases", similar cases, and the observable
page. Visibility follows ``cases.selectors.visible_cases`` and ``alerts.selectors.visible_alerts``:
another team's case is never named; whether the number of cases the user cannot open is shown
at all is the policy ``SOAR_OBSERVABLE_COUNT_HIDDEN_CASES``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.urls import reverse
from django.utils.text import Truncator

from alerts.models import Alert, CaseObservable, Observable
from alerts.normalization import defang
from alerts.selectors import visible_alerts
from cases.selectors import approximate_case_count, visible_cases

if TYPE_CHECKING:
    from cases.models import Case
    from cases.roles import Actor

CASE_OBSERVABLE_LIMIT = 200
# Observables per page of the case page's table (``?observables=N`` pages on): 200 rows, each
# with its edit form and links, were the largest share of a heavy case page's rendering time.
CASE_PAGE_OBSERVABLES = 25
SEEN_IN_LINKS = 5  # visible other cases linked per observable on the case page
# An observable in more cases than this says nothing about similarity (a resolver, a proxy):
# it is left out of the ranking, which also bounds the rows the ranking reads.
SIMILAR_MAX_CASES_PER_OBSERVABLE = 500
# Up to this many links to other cases, "seen in" reads the links first and then tests just
# their cases' visibility (a primary-key look-up). As one semi-join with ``visible_cases``,
# PostgreSQL hashes every case the user may see first: ~25 ms at 100,000 cases, for a few
# hundred links. Past it, the semi-join is the better plan (a long IN list costs Python time).
LINKS_READ_FIRST = 1000
# Similar cases rank every case sharing an observable (up to this many links), then test the
# visibility of the best ``SIMILAR_CANDIDATES`` only.
SIMILAR_LINKS_READ_FIRST = 20000
SIMILAR_CANDIDATES = 100

# The auto-created M2M table (cases_case_observables); typed Any so that the stubs' plugin,
# which does not see annotations on an auto-created through model, does not reject them.
CaseLink: Any = Observable.cases.through
TLP_CHOICES = CaseObservable.Tlp.choices


@dataclass
class SeenIn:
    case_ids: list[int] = field(default_factory=list)  # the newest visible other cases (links)
    visible: int = 0  # other cases the user may open
    hidden: int | None = None  # other cases the user may not open; None when the policy hides it


@dataclass
class ObservableRow:
    observable: Observable
    attributes: CaseObservable | None
    seen: SeenIn


@dataclass
class ObservablePage:
    rows: list[ObservableRow]
    total: int  # observables of the case
    page: int  # the page shown (a page past the end shows the last one)
    pages: int

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None


@dataclass
class SimilarCase:
    case: Case
    score: float
    shared: int


def _visible_case_ids(user: Actor, case_ids: set[int]) -> set[int]:
    """Those of ``case_ids`` the user may open: one primary-key look-up, however many cases exist."""
    if not case_ids:
        return set()
    return set(visible_cases(user).filter(pk__in=case_ids).order_by().values_list("pk", flat=True))


def seen_in_other_cases(user: Actor, case_id: int, observable_ids: list[int]) -> dict[int, SeenIn]:
    """For each observable, the other cases holding it: the newest ``SEEN_IN_LINKS`` the user may
    see and how many they may see; how many they may not only when the policy allows. Two
    queries whatever the number of observables: up to ``LINKS_READ_FIRST`` links to other cases,
    then which of those cases are visible; past it, one window query per observable over the
    visible links and one count per observable (three in all)."""
    found: dict[int, SeenIn] = {obs_id: SeenIn() for obs_id in observable_ids}
    if not observable_ids:
        return found
    others = CaseLink.objects.filter(observable_id__in=observable_ids).exclude(case_id=case_id)
    links = list(others.order_by("observable_id", "-case_id")
                 .values_list("observable_id", "case_id")[:LINKS_READ_FIRST + 1])
    totals: dict[int, int]
    if len(links) <= LINKS_READ_FIRST:
        totals = Counter(obs_id for obs_id, _ in links)
        visible = _visible_case_ids(user, {linked for _, linked in links})
        for obs_id, linked_case_id in links:
            if linked_case_id in visible:
                seen = found[obs_id]
                seen.visible += 1
                if len(seen.case_ids) < SEEN_IN_LINKS:
                    seen.case_ids.append(linked_case_id)
    else:
        totals = dict(others.order_by().values("observable_id").annotate(n=Count("case_id"))
                      .values_list("observable_id", "n"))
        visible_links = (
            others.filter(case_id__in=visible_cases(user).values("pk"))
            .annotate(rank=Window(RowNumber(), partition_by=[F("observable_id")], order_by=F("case_id").desc()),
                      total=Window(Count("case_id"), partition_by=[F("observable_id")]))
            .filter(rank__lte=SEEN_IN_LINKS)
            .values_list("observable_id", "case_id", "total")
        )
        for obs_id, linked_case_id, total in visible_links:
            seen = found[obs_id]
            seen.case_ids.append(linked_case_id)
            seen.visible = total
    if settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES:
        for obs_id, seen in found.items():
            seen.hidden = max(totals.get(obs_id, 0) - seen.visible, 0)
    return found


def case_observable_rows(user: Actor, case: Case, *, limit: int = CASE_OBSERVABLE_LIMIT,
                         observable_ids: list[int] | None = None, offset: int = 0) -> list[ObservableRow]:
    """The case's observables (by type, value; at most ``limit`` from ``offset``; only
    ``observable_ids`` when given) with their per-case attributes and where else they were
    seen: a constant number of queries (4)."""
    in_case = Observable.objects.filter(cases=case.pk)
    if observable_ids is not None:
        in_case = in_case.filter(pk__in=observable_ids)
    observables = list(in_case.order_by("type", "value", "pk")[offset:offset + limit])
    ids = [o.pk for o in observables]
    attributes = {a.observable_id: a for a in CaseObservable.objects.filter(case_id=case.pk, observable_id__in=ids)}
    seen = seen_in_other_cases(user, case.pk, ids)
    return [ObservableRow(o, attributes.get(o.pk), seen[o.pk]) for o in observables]


def case_observable_count(case: Case) -> int:
    return CaseLink.objects.filter(case_id=case.pk).count()


def case_observable_page(user: Actor, case: Case, page: int = 1, *,
                         per_page: int = CASE_PAGE_OBSERVABLES) -> ObservablePage:
    """One page of the case page's observable table: the count, then ``case_observable_rows``
    for that page (5 queries whatever the number of observables)."""
    total = case_observable_count(case)
    pages = max(math.ceil(total / per_page), 1)
    page = min(max(page, 1), pages)
    rows = case_observable_rows(user, case, limit=per_page, offset=(page - 1) * per_page) if total else []
    return ObservablePage(rows=rows, total=total, page=page, pages=pages)


@dataclass
class ObservableRowDisplay:
    """What the case page's table shows of one row, worked out once in Python: per-row URL
    reversals, filters and template conditions were most of the table's rendering time."""
    row: ObservableRow
    shown_value: str  # defanged, truncated
    detail_url: str
    update_url: str
    tlp: str  # the selected TLP (AMBER when the analysts said nothing)
    seen_links: list[tuple[int, str]]  # (case id, its URL) of the visible other cases


def observable_rows_display(rows: list[ObservableRow], case_id: int) -> list[ObservableRowDisplay]:
    """Display data of the case page's observable rows, with three URL reversals in all."""
    # Reversed with a placeholder id, then filled per row: the URL shapes are fixed.
    detail = reverse("observables:detail", args=[0]).removesuffix("0/")
    update = reverse("observables:update", args=[0, case_id])
    update_tail = update[len(detail) + 1:]
    case_page = reverse("cases:detail", args=[0]).removesuffix("0/")
    shown = []
    for row in rows:
        obs = row.observable
        shown.append(ObservableRowDisplay(
            row=row, shown_value=Truncator(defang(obs.type, obs.value)).chars(80),
            detail_url=f"{detail}{obs.pk}/", update_url=f"{detail}{obs.pk}{update_tail}",
            tlp=row.attributes.tlp if row.attributes else CaseObservable.Tlp.AMBER,
            seen_links=[(other, f"{case_page}{other}/") for other in row.seen.case_ids]))
    return shown


def similar_cases(user: Actor, case: Case, *, limit: int = 5) -> list[SimilarCase]:
    """Visible cases sharing observables with ``case``, ranked by the sum of the shared
    observables' rarity (idf: log of all cases over the cases holding it), so that sharing one
    rare hash outweighs sharing a few common IPs. Four queries whatever the sizes (six when
    the best-ranked cases are mostly ones the user may not open)."""
    own_ids = CaseLink.objects.filter(case_id=case.pk).order_by("observable_id").values("observable_id")[:1000]
    case_counts: dict[int, int] = dict(CaseLink.objects.filter(observable_id__in=own_ids).order_by()
                                       .values("observable_id").annotate(n=Count("case_id"))
                                       .values_list("observable_id", "n"))
    useful = [o for o, n in case_counts.items() if 1 < n <= SIMILAR_MAX_CASES_PER_OBSERVABLE]
    if not useful:
        return []
    all_cases = max(approximate_case_count(), 2)
    weight = {o: math.log(all_cases / case_counts[o]) + 0.01 for o in useful}
    others = CaseLink.objects.filter(observable_id__in=useful).exclude(case_id=case.pk)
    if sum(case_counts[o] for o in useful) <= SIMILAR_LINKS_READ_FIRST:
        # Rank every other case, then look for the user's among the best-ranked by primary key:
        # a visible case's score is the same whoever else is counted.
        scores, shared = _scores(others.values_list("case_id", "observable_id"), weight)
        head = sorted(scores, key=lambda c: (-scores[c], -c))[:SIMILAR_CANDIDATES]
        cases = visible_cases(user).filter(pk__in=head).order_by().in_bulk()
        best = [c for c in head if c in cases][:limit]
        if len(best) == limit or len(head) == len(scores):
            return [SimilarCase(cases[c], round(scores[c], 2), shared[c]) for c in best]
    # The best-ranked cases are mostly others' (or the links are many): the visible links only.
    scores, shared = _scores(others.filter(case_id__in=visible_cases(user).values("pk"))
                             .values_list("case_id", "observable_id"), weight)
    best = sorted(scores, key=lambda c: (-scores[c], -c))[:limit]
    cases = visible_cases(user).filter(pk__in=best).in_bulk()
    return [SimilarCase(cases[c], round(scores[c], 2), shared[c]) for c in best if c in cases]


def _scores(links: Iterable[tuple[int, int]], weight: dict[int, float]) -> tuple[dict[int, float], dict[int, int]]:
    """Per other case: the summed weight of the observables it shares, and how many it shares."""
    scores: dict[int, float] = {}
    shared: dict[int, int] = {}
    for other_id, obs_id in links:
        scores[other_id] = scores.get(other_id, 0.0) + weight[obs_id]
        shared[other_id] = shared.get(other_id, 0) + 1
    return scores, shared


# --- the observable page ------------------------------------------------------------------

def get_visible_observable(user: Actor, observable_id: int) -> Observable:
    """The observable when it is in a case or an alert ``user`` may see; Http404 otherwise (an
    observable known only from another team's cases is not told apart from a missing one)."""
    in_case = CaseLink.objects.filter(observable_id=OuterRef("pk"), case_id__in=visible_cases(user).values("pk"))
    in_alert = Alert.observables.through.objects.filter(
        observable_id=OuterRef("pk"), alert_id__in=visible_alerts(user).values("pk"))
    observable = (Observable.objects.filter(pk=observable_id)
                  .filter(Exists(in_case) | Exists(in_alert)).first())
    if observable is None:
        raise Http404("No such observable.")
    return observable


def observable_cases(user: Actor, observable: Observable, *,
                     limit: int = 200) -> list[tuple[Case, CaseObservable | None]]:
    """The visible cases holding the observable, newest first, each with its attributes there."""
    cases = list(visible_cases(user).filter(pk__in=CaseLink.objects.filter(observable_id=observable.pk)
                                            .values("case_id"))
                 .select_related("team").order_by("-created_at", "-pk")[:limit])
    attributes = {a.case_id: a for a in CaseObservable.objects.filter(observable=observable,
                                                                      case_id__in=[c.pk for c in cases])}
    return [(c, attributes.get(c.pk)) for c in cases]


def observable_alerts(user: Actor, observable: Observable, *, limit: int = 200) -> QuerySet[Alert]:
    """The visible alerts holding the observable, newest first."""
    through = Alert.observables.through.objects.filter(observable_id=observable.pk)
    return (visible_alerts(user).filter(pk__in=through.values("alert_id")).select_related("source")
            .defer("raw", "description").order_by("-received_at", "-id")[:limit])
