"""The case page's timeline, read in a constant number of queries whatever its length: the
entries (with their actors), then the notes they show (with authors and past revisions).

Newest first unless asked otherwise; runs of "alert attached" entries become one collapsible
group ("12 alerts attached"); the kinds shown can be narrowed (a server-side filter). The case
page shows one page of ``TIMELINE_PAGE`` events at a time ("show older" walks back), so that
a case with thousands of events renders as fast as a small one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q

from cases.models import Case, CaseEvent, Note, NoteRevision
from cases.vocabulary import EventKind

ORDERS = ("newest", "oldest")
# At most this many events in one read (the report, the live refresh without a page).
TIMELINE_LIMIT = 1000
# Events per page of the case page's timeline: rendering 1,000 entries (each with its note's
# markdown) is what made a heavy case page slow, not reading them.
TIMELINE_PAGE = 50
# Notes per page of the case page's Notes panel (newest first by page, oldest first within one):
# each is rendered from markdown with its edit form and history.
NOTES_PAGE = 20


@dataclass
class TimelineEntry:
    """One row: an event, or a group of consecutive alert attachments (``grouped``)."""

    event: CaseEvent
    grouped: list[CaseEvent] = field(default_factory=list)
    note: Note | None = None

    @property
    def kind(self) -> str:
        return "alert_group" if self.grouped else self.event.kind


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    order: str
    kinds: list[str]
    truncated: bool  # there are events past this page in this order
    page: int = 1

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.truncated else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None


def parse_order(value: str | None) -> str:
    return value if value in ORDERS else "newest"


def parse_kinds(values: Iterable[str]) -> list[str]:
    """The kinds asked for that exist (unknown ones are ignored); empty means every kind."""
    known = set(EventKind.values)
    return [value for value in dict.fromkeys(values) if value in known]


def _group_alerts(events: list[CaseEvent]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for event in events:
        last = entries[-1] if entries else None
        if event.kind == EventKind.ALERT_ATTACHED and last is not None and last.event.kind == EventKind.ALERT_ATTACHED:
            if not last.grouped:
                last.grouped.append(last.event)
            last.grouped.append(event)
        else:
            entries.append(TimelineEntry(event=event))
    return entries


def _notes_by_id(note_ids: set[int]) -> Mapping[int, Note]:
    if not note_ids:
        return {}
    notes = (Note.objects.filter(pk__in=note_ids).select_related("author")
             .prefetch_related(Prefetch("revisions", queryset=NoteRevision.objects.select_related("edited_by"))))
    return {note.pk: note for note in notes}


def case_timeline(case: Case, *, order: str = "newest", kinds: Iterable[str] = (), page: int = 1,
                  per_page: int = TIMELINE_LIMIT) -> Timeline:
    """The entries of ``case`` in ``order``, of ``kinds`` (all when empty): the ``page``-th run of
    ``per_page`` events (a run of alert attachments cut by a page boundary shows on both)."""
    order = parse_order(order)
    per_page = max(1, min(per_page, TIMELINE_LIMIT))
    page = max(page, 1)
    start = (page - 1) * per_page
    chosen = parse_kinds(kinds)
    events_qs = CaseEvent.objects.filter(case=case).select_related("actor")
    if chosen:
        events_qs = events_qs.filter(kind__in=chosen)
    ordering = ("-created_at", "-id") if order == "newest" else ("created_at", "id")
    events = list(events_qs.order_by(*ordering)[start:start + per_page + 1])
    truncated = len(events) > per_page
    events = events[:per_page]
    entries = _group_alerts(events)
    note_ids = {_note_id(entry.event.data) for entry in entries if entry.event.kind == EventKind.NOTE}
    notes = _notes_by_id({pk for pk in note_ids if pk is not None})
    for entry in entries:
        if entry.event.kind == EventKind.NOTE:
            entry.note = notes.get(_note_id(entry.event.data) or 0)
    return Timeline(entries=entries, order=order, kinds=chosen, truncated=truncated, page=page)


def _note_id(data: Any) -> int | None:
    value = data.get("note_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


@dataclass
class NotesPage:
    notes: list[Note]  # oldest first
    page: int
    has_older: bool

    @property
    def older_page(self) -> int | None:
        return self.page + 1 if self.has_older else None

    @property
    def newer_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None


def case_notes_page(case: Case, page: int = 1, *, per_page: int = NOTES_PAGE) -> NotesPage:
    """The ``page``-th run of ``per_page`` notes of ``case`` counted from the newest, with their
    authors and past revisions: two queries whatever the number of notes."""
    page = max(page, 1)
    start = (page - 1) * per_page
    newest_first = list(Note.objects.filter(case=case).select_related("author")
                        .prefetch_related(Prefetch("revisions", queryset=NoteRevision.objects.select_related(
                            "edited_by")))
                        .order_by("-created_at", "-id")[start:start + per_page + 1])
    has_older = len(newest_first) > per_page
    return NotesPage(notes=newest_first[:per_page][::-1], page=page, has_older=has_older)


def notes_page_of(note: Note, *, per_page: int = NOTES_PAGE) -> int:
    """The page of the Notes panel that shows ``note`` (after an edit, back to where it is)."""
    newer = (Note.objects.filter(case_id=note.case_id)
             .filter(Q(created_at__gt=note.created_at) | Q(created_at=note.created_at, id__gt=note.pk)).count())
    return newer // per_page + 1
