"""The case queue's query string: its sorts, the open-cases default, and saved views.

A queue view is a query string of the queue page (``severity=critical&assignee=none``). The
built-in ones ("My open", "Unassigned critical", one per team of the user) are computed; the
analysts' own are ``SavedView`` rows, checked by ``CaseFilter`` before they are stored so that a
saved view never holds a filter the queue would refuse. A saved view is private to its owner
unless shared with one of the owner's teams; nobody else ever reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.http import QueryDict

from cases.filtersets import CaseFilter
from cases.models import Case, SavedView, Team
from cases.selectors import team_ids_query, teams_for
from soar.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from cases.roles import Actor

# Orderings of the queue, by the name used in ``?sort=`` (the column headers link to them).
QUEUE_SORTS: dict[str, tuple[Any, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "severity": ("-severity_rank", "-created_at", "-id"),
    "updated": ("-updated_at", "-id"),
    "sla": (F("sla_resolve_due").asc(nulls_last=True), "id"),
}
SORT_LABELS = {"newest": "Newest", "oldest": "Oldest", "severity": "Severity", "updated": "Recently updated",
               "sla": "SLA due"}
DEFAULT_SORT = "newest"

ALL_STATUSES = "all"  # ?status=all: closed and resolved cases too (the default is open cases only)
FILTER_KEYS = frozenset(CaseFilter.base_filters)
QUERY_KEYS = FILTER_KEYS | {"sort"}
# --- custom fields (issue 18): the queue's cf_<key> filters are per definition, not in FILTER_KEYS.
CUSTOM_FIELD_PREFIX = "cf_"


def is_query_key(key: str) -> bool:
    return key in QUERY_KEYS or key.startswith(CUSTOM_FIELD_PREFIX)
# --- end custom fields
NAME_MAX = 60
MAX_SAVED_VIEWS = 50


@dataclass(frozen=True)
class QueueView:
    name: str
    query: str
    saved_view_id: int | None = None
    mine: bool = False
    shared_with: str = ""


def sort_of(params: QueryDict) -> str:
    sort = params.get("sort")
    return sort if sort in QUEUE_SORTS else DEFAULT_SORT


def without_empty_values(params: QueryDict) -> QueryDict:
    """The filter form submits "Any" as an empty value; that means "no filter", not an error."""
    cleaned = params.copy()
    for key in list(cleaned):
        values = [value for value in cleaned.getlist(key) if value != ""]
        if values:
            cleaned.setlist(key, values)
        else:
            del cleaned[key]
    return cleaned


def filter_params(params: QueryDict) -> QueryDict:
    """The CaseFilter input for the queue page: open cases unless a status is asked for
    (``status=all`` lifts the default)."""
    cleaned = without_empty_values(params)
    statuses = cleaned.getlist("status")
    if ALL_STATUSES in statuses:
        del cleaned["status"]
    elif not statuses and "is_open" not in cleaned:
        cleaned.setlist("status", list(Case.OPEN_STATUSES))
    return cleaned


def shows_open_only(params: QueryDict) -> bool:
    cleaned = without_empty_values(params)
    return "status" not in cleaned and "is_open" not in cleaned


def canonical_query(params: QueryDict) -> str:
    """The query string of a queue view: known keys only, no empty values, no page, in a fixed
    order (so that the current page can be matched to a view)."""
    pairs = sorted((key, value) for key in without_empty_values(params) if is_query_key(key)
                   for value in params.getlist(key) if value != "")
    return urlencode(pairs)


def validated_query(raw: str) -> str:
    """``raw`` as a canonical queue query string; InvalidInput (field ``query``) when the queue
    would refuse or ignore part of it."""
    if len(raw) > 1000:
        raise InvalidInput("The filters are too long to save.", field="query")
    params = QueryDict(raw.lstrip("?"))
    unknown = sorted(key for key in without_empty_values(params) if key != "page" and not is_query_key(key))
    if unknown:
        raise InvalidInput(f"Unknown filter: {', '.join(unknown)}.", field="query")
    if params.get("sort") and params.get("sort") not in QUEUE_SORTS:
        raise InvalidInput("Unknown sort order.", field="query")
    statuses = without_empty_values(params).getlist("status")
    if ALL_STATUSES in statuses and len(statuses) > 1:
        raise InvalidInput("Choose either all statuses or some.", field="query")
    case_filter = CaseFilter(filter_params(params), queryset=Case.objects.none())
    no_such_field = sorted(key for key in params
                           if key.startswith(CUSTOM_FIELD_PREFIX) and key not in case_filter.filters)
    if no_such_field:
        raise InvalidInput(f"Unknown filter: {', '.join(no_such_field)}.", field="query")
    if not case_filter.is_valid():
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in case_filter.errors.items())
        raise InvalidInput(f"These filters cannot be saved ({problems}).", field="query")
    return canonical_query(params)


def member_teams(user: Actor) -> QuerySet[Team]:
    if user is None or not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(pk__in=team_ids_query(user)).order_by("name")


def builtin_views(user: Actor) -> list[QueueView]:
    views = [QueueView("Open", ""), QueueView("My open", "assignee=me"),
             QueueView("Unassigned critical", "assignee=none&severity=critical")]
    views += [QueueView(f"Team {team.name} open", urlencode({"team": team.pk})) for team in member_teams(user)]
    return views


def visible_saved_views(user: Actor) -> QuerySet[SavedView]:
    """The user's own views and those shared with one of their teams; never another user's private one."""
    if user is None or not user.is_authenticated:
        return SavedView.objects.none()
    return (SavedView.objects.filter(Q(owner_id=user.pk) | Q(team_id__in=team_ids_query(user)))
            .select_related("owner", "team").order_by("name", "id"))


def queue_views(user: Actor) -> list[QueueView]:
    """The tabs above the queue: the built-in views, the saved ones, then "All"."""
    user_id = getattr(user, "pk", None)
    saved = [QueueView(view.name, view.query, saved_view_id=view.pk, mine=view.owner_id == user_id,
                       shared_with=view.team.name if view.team else "")
             for view in visible_saved_views(user)]
    return [*builtin_views(user), *saved, QueueView("All", f"status={ALL_STATUSES}")]


def save_view(user: Actor, *, name: str, query: str, team_id: str | int | None = None) -> SavedView:
    """Save (or overwrite, by name) one of the user's views; shared with ``team_id`` when given,
    which must be one of the user's teams."""
    if user is None or not user.is_authenticated:
        raise InvalidInput("Log in to save views.")
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Name the view.", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"A view name has at most {NAME_MAX} characters.", field="name")
    canonical = validated_query(query or "")
    team = None
    if team_id not in (None, ""):
        team = teams_for(user).filter(pk=team_id).first() if str(team_id).isdigit() else None
        if team is None or not member_teams(user).filter(pk=team.pk).exists():
            raise InvalidInput("Share only with one of your teams.", field="team")
    existing = SavedView.objects.filter(owner_id=user.pk, name=name).first()
    if existing is None and SavedView.objects.filter(owner_id=user.pk).count() >= MAX_SAVED_VIEWS:
        raise InvalidInput(f"At most {MAX_SAVED_VIEWS} saved views; delete one first.", field="name")
    try:
        with transaction.atomic():
            view, _ = SavedView.objects.update_or_create(owner_id=user.pk, name=name,
                                                         defaults={"query": canonical, "team": team})
    except IntegrityError as exc:  # the same name saved twice at once
        raise InvalidInput("A view of that name was just saved; try again.", field="name") from exc
    return view


def delete_view(user: Actor, view_id: int) -> None:
    """Delete one of the user's own views; another user's (shared or not) is NotFound."""
    if user is None or not user.is_authenticated:
        raise NotFound("No such view.")
    deleted, _ = SavedView.objects.filter(pk=view_id, owner_id=user.pk).delete()
    if not deleted:
        raise NotFound("No such view.")
