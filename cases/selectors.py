"""Read queries on cases, for other apps and for the pages/API.

Visibility rules live here and only here: every page, API endpoint and export that shows
cases starts from ``visible_cases(user)``."""

from django.http import Http404

from cases.models import Case


def get_case(case_id: int) -> Case | None:
    return Case.objects.filter(pk=case_id).first()


def is_case_open(case_id: int) -> bool:
    return Case.objects.filter(pk=case_id, status__in=Case.OPEN_STATUSES).exists()


def visible_cases(user):
    """Cases ``user`` may read. Superusers and auditors see all; others their teams' cases
    (refined with object permissions by the RBAC work)."""
    if not getattr(user, "is_authenticated", False):
        return Case.objects.none()
    if user.is_superuser or user.groups.filter(name__in=["admin", "auditor"]).exists():
        return Case.objects.all()
    return Case.objects.filter(team__members=user)


def get_visible_case(user, case_id) -> Case:
    """The case, or Http404 when it does not exist *or* the user may not see it (no IDOR)."""
    case = visible_cases(user).filter(pk=case_id).first()
    if case is None:
        raise Http404("No such case.")
    return case


def can_change_case(user, case: Case) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    if user.groups.filter(name="auditor").exists():
        return False
    return visible_cases(user).filter(pk=case.pk).exists()
