"""Read queries on cases, for other apps and for the pages/API."""

from cases.models import Case


def get_case(case_id: int) -> Case | None:
    return Case.objects.filter(pk=case_id).first()


def is_case_open(case_id: int) -> bool:
    return Case.objects.filter(pk=case_id, status__in=Case.OPEN_STATUSES).exists()
