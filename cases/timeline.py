"""The case page's timeline, read in a constant number of queries whatever its length: the
entries (with their actors), then the notes they show (with authors and past revisions).

Newest first unless asked otherwise; runs of "alert attached" entries become one collapsible
group ("12 alerts attached"); the kinds shown can be narrowed (a server-side filter)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from cases.models import Case, CaseEvent, Note, NoteRevision
from cases.vocabulary import EventKind

ORDERS = ("newest", "oldest")
# Past this many entries the page shows the most recent (or oldest) ones only.
TIMELINE_LIMIT = 1000


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
    truncated: bool


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


def case_timeline(case: Case, *, order: str = "newest", kinds: Iterable[str] = ()) -> Timeline:
    """The entries of ``case`` in ``order``, of ``kinds`` (all when empty)."""
    order = parse_order(order)
    chosen = parse_kinds(kinds)
    events_qs = CaseEvent.objects.filter(case=case).select_related("actor")
    if chosen:
        events_qs = events_qs.filter(kind__in=chosen)
    ordering = ("-created_at", "-id") if order == "newest" else ("created_at", "id")
    events = list(events_qs.order_by(*ordering)[:TIMELINE_LIMIT + 1])
    truncated = len(events) > TIMELINE_LIMIT
    events = events[:TIMELINE_LIMIT]
    entries = _group_alerts(events)
    note_ids = {_note_id(entry.event.data) for entry in entries if entry.event.kind == EventKind.NOTE}
    notes = _notes_by_id({pk for pk in note_ids if pk is not None})
    for entry in entries:
        if entry.event.kind == EventKind.NOTE:
            entry.note = notes.get(_note_id(entry.event.data) or 0)
    return Timeline(entries=entries, order=order, kinds=chosen, truncated=truncated)


def _note_id(data: Any) -> int | None:
    value = data.get("note_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None
