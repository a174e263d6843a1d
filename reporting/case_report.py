"""The case report: everything a printable report of one case shows, gathered through the other
apps' selectors into one typed value (``CaseReport``). It reads cases (summary, timeline, tasks,
notes), alerts (observables and their per-case flags), enrichment (verdicts, blocklists) and
evidence (file hashes), which is why it lives on the reporting floor, above all of them.

Visibility first: ``build_case_report`` starts from ``cases.selectors.get_visible_case`` (Http404
for a case the user may not see). Every section is one query (or a fixed few) whatever the
number of rows, so a case with thousands of entries costs the same number of queries as an
empty one (tests/reporting/test_case_report.py counts them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.text import slugify

from alerts import observable_intel
from attack.selectors import techniques_for_case
from cases.custom_fields import case_field_rows
from cases.selectors import get_visible_case
from cases.task_selectors import case_tasks, task_counts
from cases.timeline import Timeline, case_timeline
from enrichment.selectors import blocklisted_pairs, case_observable_verdicts
from evidence.selectors import case_evidence

if TYPE_CHECKING:
    from alerts.observable_intel import ObservableRow
    from attack.selectors import TacticGroup
    from cases.models import Case, CaseTask, Note, Tag
    from cases.roles import Actor
    from evidence.models import EvidenceFile

# A report is bounded like the case page, only wider: past these the report says how many rows
# it left out rather than growing without limit (a 1,000-entry timeline is about 25 printed A4 pages).
REPORT_OBSERVABLE_LIMIT = 1000
REPORT_EVIDENCE_LIMIT = 500
REPORT_NOTE_LIMIT = 1000

FORMATS = ("html", "pdf")


@dataclass
class ObservableLine:
    """One observable of the case with what the case says about it and what enrichment found."""

    row: ObservableRow
    verdict: str  # the strongest enrichment verdict in this case ("" when none)
    blocklisted: bool

    @property
    def tlp_label(self) -> str:
        attributes = self.row.attributes
        return attributes.get_tlp_display() if attributes is not None else "TLP:AMBER"


@dataclass
class TaskSummary:
    total: int = 0  # without the cancelled ones, as the queue's progress counts them
    done: int = 0


@dataclass
class CaseReport:
    case: Case
    tags: list[Tag]
    timeline: Timeline
    tasks: list[CaseTask]
    task_summary: TaskSummary
    observables: list[ObservableLine]
    observable_total: int
    evidence: list[EvidenceFile]
    notes: list[Note]
    note_total: int
    generated_at: dt.datetime
    generated_by: str
    ioc_count: int = field(default=0)
    techniques: list[TacticGroup] = field(default_factory=list)
    # The case page's "Fields" rows (one per active custom field definition, set or not).
    custom_fields: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tlp_class(self) -> str:
        """The CSS class naming the print page of the case's TLP (report.css: header and footer
        marking on every page), e.g. ``tlp-amber-strict``."""
        return "tlp-" + slugify(self.case.tlp.replace("+", "-")) if self.case.tlp else "tlp-amber"

    @property
    def file_stem(self) -> str:
        """A download name safe in any header and file system: the id and an ASCII slug of the title."""
        slug = slugify(self.case.title)[:60].strip("-")
        return f"case-{self.case.pk}-report" + (f"-{slug}" if slug else "")


def _observable_lines(user: Actor, case: Case) -> list[ObservableLine]:
    rows = observable_intel.case_observable_rows(user, case, limit=REPORT_OBSERVABLE_LIMIT)
    verdicts = case_observable_verdicts(case.pk)
    blocked = blocklisted_pairs([(row.observable.type, row.observable.value) for row in rows])
    return [ObservableLine(row=row, verdict=verdicts.get(row.observable.pk, ""),
                           blocklisted=(row.observable.type, row.observable.value) in blocked) for row in rows]


def _notes(case: Case) -> tuple[list[Note], int]:
    """The case's notes, oldest first, with their authors (one query; a second only to count
    when the report leaves some out). Read through the case the visibility check returned:
    cases.selectors has no note reader, and the relation is the case's own."""
    notes = list(case.notes.select_related("author").order_by("created_at", "id")[:REPORT_NOTE_LIMIT + 1])
    if len(notes) <= REPORT_NOTE_LIMIT:
        return notes, len(notes)
    return notes[:REPORT_NOTE_LIMIT], case.notes.count()


def build_case_report(user: Actor, case_id: int | str) -> CaseReport:
    """The report of case ``case_id`` as ``user`` may read it (Http404 when they may not see it).
    The "seen in other cases" counts follow the observable policy for ``user`` as on the case page."""
    case = get_visible_case(user, case_id)
    tasks = list(case_tasks(case))
    observables = _observable_lines(user, case)
    observable_total = (len(observables) if len(observables) < REPORT_OBSERVABLE_LIMIT
                        else observable_intel.case_observable_count(case))
    notes, note_total = _notes(case)
    return CaseReport(
        case=case,
        tags=list(case.tags.all()),
        timeline=case_timeline(case, order="oldest"),
        tasks=tasks,
        task_summary=TaskSummary(**task_counts(case)),
        observables=observables,
        observable_total=observable_total,
        evidence=case_evidence(case, limit=REPORT_EVIDENCE_LIMIT),
        notes=notes,
        note_total=note_total,
        generated_at=timezone.now(),
        generated_by=getattr(user, "username", "") or "system",
        ioc_count=sum(1 for line in observables if line.row.attributes is not None and line.row.attributes.ioc),
        techniques=techniques_for_case(case),
        custom_fields=case_field_rows(case),
    )
