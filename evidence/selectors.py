"""Reads of evidence files. A file is visible exactly when its case is
(``cases.selectors.visible_cases``); another team's file is a 404, like its case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from cases.selectors import visible_cases
from evidence.models import EvidenceFile

if TYPE_CHECKING:
    from cases.models import Case
    from cases.roles import Actor


def visible_evidence(user: Actor) -> QuerySet[EvidenceFile]:
    return EvidenceFile.objects.filter(case__in=visible_cases(user).values("pk"))


def get_visible_evidence(user: Actor, evidence_id: int) -> EvidenceFile:
    """The file's row with its case, or Http404 when it does not exist or its case is not visible."""
    found = visible_evidence(user).select_related("case", "uploaded_by").filter(pk=evidence_id).first()
    if found is None:
        raise Http404("No such evidence file.")
    return found


def case_evidence(case: Case, *, limit: int = 200) -> list[EvidenceFile]:
    """The files of a case the caller may see (check the case first), newest first."""
    return list(EvidenceFile.objects.filter(case_id=case.pk).select_related("uploaded_by")[:limit])
