"""Read queries on cases, for other apps and for the pages/API.

Visibility rules live here and only here: every page, API endpoint and export that shows
cases starts from ``visible_cases(user)``.

- admins (superusers or the "admin" group) and auditors read every case;
- everyone else reads the cases of their teams (``Team.members``) plus the cases shared
  with them or their groups through django-guardian object permissions (``view_case``);
- changing needs the same access and not being an auditor; a view-only share does not
  allow changes (guardian ``change_case`` is granted by an editable share).

Both joins are subqueries on indexed foreign keys, so the query stays fast at 100k+ cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Case as CaseExpr
from django.db.models import CharField, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from cases import roles
from cases.lifecycle import allowed_targets
from cases.models import (
    SEVERITY_RANK,
    AuditLog,
    Case,
    CaseEvent,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Team,
)
from cases.vocabulary import OPEN_STATUSES, EventKind
from soar.bulk import any_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from cases.roles import Actor

# For other apps that read a case status through a relation (one query instead of two).
OPEN_CASE_STATUSES = tuple(Case.OPEN_STATUSES)

Membership = Team.members.through


def get_case(case_id: int) -> Case | None:
    return Case.objects.filter(pk=case_id).first()


def is_case_open(case_id: int) -> bool:
    return Case.objects.filter(pk=case_id, status__in=Case.OPEN_STATUSES).exists()


def open_case_ids() -> QuerySet[Any, Any]:
    """Subquery of the ids of the cases still open (new, triaged, in progress)."""
    return Case.objects.filter(status__in=Case.OPEN_STATUSES).values("pk")


def team_ids_query(user: User) -> QuerySet[Any, Any]:
    """Subquery of the ids of ``user``'s teams."""
    return Membership.objects.filter(user_id=user.pk).values("team_id")


def user_team_ids(user: Actor) -> set[int]:
    if user is None or not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user_id=user.pk).values_list("team_id", flat=True))


def shared_case_ids(user: User, codename: str) -> tuple[QuerySet[Any, Any], QuerySet[Any, Any]]:
    """Subqueries of the ids (``content_object_id``) of the cases shared with ``user`` directly
    and through their groups, with the permission ``codename`` (``view_case``, ``change_case``)."""
    direct = CaseUserObjectPermission.objects.filter(user_id=user.pk, permission__codename=codename)
    via_groups = CaseGroupObjectPermission.objects.filter(group__user=user, permission__codename=codename)
    return direct.values("content_object_id"), via_groups.values("content_object_id")


def visible_cases(user: Actor) -> QuerySet[Case]:
    """Cases ``user`` may read (see the module docstring)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if roles.sees_all_cases(user):
        return Case.objects.all()
    direct, via_groups = shared_case_ids(user, "view_case")
    return Case.objects.filter(Q(team_id__in=team_ids_query(user)) | Q(pk__in=direct) | Q(pk__in=via_groups))


def case_status(case_id: int) -> str | None:
    """The status of one case, by primary key (None when no such case is visible).

    Correlation calls this *after* locking the alert group, as a statement of its own: under
    READ COMMITTED it then sees a case committed by the worker that held the lock before. A
    subquery in the locking statement would read the statement's older snapshot instead, and
    miss that case (PostgreSQL re-reads only the locked row itself after waiting). A primary-key
    look-up also keeps clear of the merge join over the whole case index that a join invited."""
    return Case.objects.filter(pk=case_id).values_list("status", flat=True).first()



def case_statuses(case_ids: Iterable[int]) -> dict[int, str]:
    """The status of each of these cases, by primary key (absent: no such case). Correlation in
    chunks reads it after locking the groups, as ``case_status`` does for one."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    return dict(Case.objects.filter(any_of("pk", ids)).values_list("pk", "status"))

def get_visible_case(user: Actor, case_id: int | str) -> Case:
    """The case, or Http404 when it does not exist *or* the user may not see it (no IDOR)."""
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise Http404("No such case.")
    case = visible_cases(user).filter(pk=pk).select_related("team", "assignee", "merged_into").first()
    if case is None:
        raise Http404("No such case.")
    return case


def can_change_case(user: Actor, case: Case) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if roles.is_admin(user):
        return True
    if roles.is_auditor(user):
        return False
    direct, via_groups = shared_case_ids(user, "change_case")
    return Case.objects.filter(
        Q(team_id__in=team_ids_query(user)) | Q(pk__in=direct) | Q(pk__in=via_groups), pk=case.pk
    ).exists()


def changeable_cases(user: Actor) -> QuerySet[Case]:
    """Cases ``user`` may change, as a queryset (bulk actions, merge targets)."""
    if user is None or not user.is_authenticated or not user.is_active or roles.is_auditor(user):
        return Case.objects.none()
    if roles.is_admin(user):
        return Case.objects.all()
    direct, via_groups = shared_case_ids(user, "change_case")
    return Case.objects.filter(Q(team_id__in=team_ids_query(user)) | Q(pk__in=direct) | Q(pk__in=via_groups))


def shared_users(case: Case) -> QuerySet[User]:
    User = get_user_model()
    ids = CaseUserObjectPermission.objects.filter(content_object=case, permission__codename="view_case")
    return User.objects.filter(pk__in=ids.values("user_id")).order_by("username")


def allowed_transitions(user: Actor, case: Case) -> tuple[str, ...]:
    if case.merged_into_id or not can_change_case(user, case):
        return ()
    return allowed_targets(case.status)


def assignable_users(case: Case) -> QuerySet[User]:
    """Who may hold a case: active members of its team (everyone active when it has none)."""
    User = get_user_model()
    users = User.objects.filter(is_active=True).order_by("username")
    if case.team_id:
        users = users.filter(soc_teams=case.team_id)
    return users


def teams_for(user: Actor) -> QuerySet[Team]:
    if roles.sees_all_cases(user):
        return Team.objects.all()
    if user is None or not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(pk__in=team_ids_query(user))


# --- queue helpers ---------------------------------------------------------------------

def severity_rank_expression() -> CaseExpr:
    return CaseExpr(*[When(severity=name, then=Value(rank)) for name, rank in SEVERITY_RANK.items()],
                    default=Value(0), output_field=IntegerField())


def sla_breached_q(now: dt.datetime | None = None) -> Q:
    now = now or timezone.now()
    return (Q(triaged_at__isnull=True, sla_ack_due__lt=now) | Q(triaged_at__gt=F("sla_ack_due"))
            | Q(resolved_at__isnull=True, sla_resolve_due__lt=now) | Q(resolved_at__gt=F("sla_resolve_due")))


def queue_rows(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """What the queue/list needs per row, in a constant number of queries."""
    return (queryset.select_related("team", "assignee")
            .prefetch_related("tags")
            .annotate(severity_rank=severity_rank_expression()))


# --- for the reporting app ---------------------------------------------------------------

def readable_cases(user: Actor) -> QuerySet[Case]:
    """``visible_cases(user)``; ``user`` None is the system (scheduled reports): every case."""
    return Case.objects.all() if user is None else visible_cases(user)


def case_ids_outside_teams(case_ids: Iterable[int], team_ids: Iterable[int], *,
                           team_id: int | None = None) -> list[int]:
    """Those of ``case_ids`` whose team is not one of ``team_ids`` (and is ``team_id`` when
    given): one query by primary key, none for no ids."""
    ids = set(case_ids)
    if not ids:
        return []
    cases = Case.objects.filter(pk__in=ids).exclude(team_id__in=set(team_ids))
    if team_id is not None:
        cases = cases.filter(team_id=team_id)
    return list(cases.values_list("pk", flat=True))


def automated_case_ids() -> QuerySet[Any, Any]:
    """Subquery of the ids of the cases a playbook acted on (a ``playbook`` timeline entry)."""
    return CaseEvent.objects.filter(kind=EventKind.PLAYBOOK).values("case_id")


def case_status_counts() -> dict[str, int]:
    """Cases per status, every case (statuses without cases are absent)."""
    return dict(Case.objects.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def approximate_case_count() -> int:
    """About how many cases exist, from the highest case id: an index look-up where counting
    scans 100,000 rows (~40 ms). Deleted cases make it an overestimate; good enough for a weight."""
    return Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def teams_by_id(team_ids: Iterable[int]) -> dict[int, Team]:
    return {team.pk: team for team in Team.objects.filter(pk__in=list(team_ids))}


def team_by_slug(slug: str) -> Team | None:
    return Team.objects.filter(slug=slug).first()


def find_team(id_or_slug: str) -> Team | None:
    """The team with this id (digits) or slug; None for an empty value or no such team."""
    value = (id_or_slug or "").strip()
    if not value:
        return None
    if value.isdigit() and len(value) < 18:
        return Team.objects.filter(pk=int(value)).first()
    return team_by_slug(value)


def visible_audit_log(user: Actor) -> QuerySet[AuditLog]:
    """Audit entries ``user`` may read: all for admins and auditors; for SOC leads, the entries
    about cases they can see and their own actions; nothing for anyone else."""
    if not roles.can_read_audit_log(user):
        return AuditLog.objects.none()
    if roles.sees_all_cases(user):
        return AuditLog.objects.all()
    case_ids = visible_cases(user).annotate(pk_text=Cast("pk", CharField())).values("pk_text")
    return AuditLog.objects.filter(Q(object_type="cases.case", object_id__in=case_ids) | Q(actor=user))


# --- for the alerts, enrichment and playbooks apps ---

def require_case(case_id: int) -> Case:
    """The case by primary key; ``Case.DoesNotExist`` when there is none."""
    return Case.objects.get(pk=case_id)


def cases_with_observable_type(case_ids: Iterable[int], obs_type: str | None) -> QuerySet[Case]:
    """The given cases that hold at least one observable of ``obs_type`` (each once; none for None)."""
    return Case.objects.filter(pk__in=case_ids, observables__type=obs_type).distinct()


def assigned_open_count(user: Actor, *, cap: int | None = None) -> int:
    """Open cases assigned to ``user`` (the navigation's badge); counting stops at ``cap``
    (the badge shows "99+"), so a user with thousands of cases is not counted on every page."""
    if user is None or not user.is_authenticated:
        return 0
    assigned = Case.objects.filter(assignee=user, status__in=list(OPEN_STATUSES), merged_into__isnull=True)
    return assigned.order_by()[:cap].count() if cap else assigned.count()


def parse_page(value: str | None) -> int:
    """A page number from a query string (the case page's panels): anything but a positive
    integer of at most six digits is the first page, never an error."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return max(int(text), 1)
    return 1
