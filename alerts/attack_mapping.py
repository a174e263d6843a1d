"""MITRE ATT&CK on alerts: the technique ids an adapter read from the payload
(``Alert.attack_ids``) are linked to the catalogue's techniques when the alerts are processed,
one chunk at a time (a constant number of statements per chunk, whatever its size), and a
case gets the techniques of the alerts put in it (``on_cases_alerts_added``). Ids the
catalogue does not know stay in ``attack_ids`` and are linked by ``relink_alerts`` after the
catalogue is imported."""

from __future__ import annotations

from typing import Any

from alerts.models import Alert
from attack import selectors as attack_selectors
from cases import techniques as case_techniques
from soar.bulk import any_of, insert_rows

RELINK_BATCH = 2000


def link_alert_techniques(rows: list[tuple[int, list[str]]]) -> dict[int, list[int]]:
    """``rows``: (alert id, ATT&CK ids). Links the known techniques in two statements (one look-up,
    one insert; idempotent). Returns alert id -> technique ids linked."""
    known = attack_selectors.technique_ids_by_external_id(ext for _, ids in rows for ext in ids or [])
    linked: dict[int, list[int]] = {}
    for alert_id, ids in rows:
        found = sorted({known[ext] for ext in ids or [] if ext in known})
        if found:
            linked[alert_id] = found
    insert_rows(Alert.techniques.through, ["alert", "technique"],
                [(alert_id, technique_id) for alert_id, found in linked.items() for technique_id in found],
                ignore_conflicts=True)
    return linked


def add_techniques_to_cases(case_alerts: dict[int, list[int]]) -> None:
    """Give each case (id -> its alerts just attached) the techniques of those alerts: two statements."""
    alert_case = {alert_id: case_id for case_id, alert_ids in case_alerts.items() for alert_id in alert_ids}
    if not alert_case:
        return
    through = Alert.techniques.through
    rows = through.objects.filter(any_of("alert_id", alert_case)).values_list("alert_id", "technique_id")
    case_techniques.add_alert_techniques({(alert_case[alert_id], technique_id) for alert_id, technique_id in rows})


def on_case_alerts_added(sender: Any, case_id: int, alert_ids: list[int] | None = None, **kwargs: Any) -> None:
    add_techniques_to_cases({case_id: list(alert_ids or [])})


def on_cases_alerts_added(sender: Any, cases: list[Any], **kwargs: Any) -> None:
    merged: dict[int, list[int]] = {}
    for case in cases:
        merged.setdefault(case.case_id, []).extend(case.alert_ids)
    add_techniques_to_cases(merged)


def relink_alerts(external_ids: list[str]) -> int:
    """After a catalogue import: link the stored alerts that name any of these (newly known)
    techniques, and their cases. Returns the number of alerts linked."""
    wanted = set(external_ids)
    if not wanted:
        return 0
    linked_count = 0
    batch: list[tuple[int, list[str], int | None]] = []
    candidates = Alert.objects.exclude(attack_ids=[]).values_list("id", "attack_ids", "case_id")
    for row in candidates.iterator(chunk_size=RELINK_BATCH):
        if wanted.intersection(row[1] or []):
            batch.append(row)
        if len(batch) >= RELINK_BATCH:
            linked_count += _relink(batch)
            batch = []
    return linked_count + (_relink(batch) if batch else 0)


def _relink(batch: list[tuple[int, list[str], int | None]]) -> int:
    linked = link_alert_techniques([(alert_id, ids) for alert_id, ids, _ in batch])
    cases: dict[int, list[int]] = {}
    for alert_id, _, case_id in batch:
        if case_id is not None and alert_id in linked:
            cases.setdefault(case_id, []).append(alert_id)
    add_techniques_to_cases(cases)
    return len(linked)
