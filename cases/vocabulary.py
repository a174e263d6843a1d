"""The words every app shares with the cases app, without importing its models: the severity
scale (alerts, cases, enrichment rules and playbooks all use it), case statuses and the kinds
of timeline entry. ``cases.models`` builds its fields from these."""

from __future__ import annotations

from django.db import models

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_CHOICES: list[tuple[str, str]] = [(name, name.capitalize()) for name in SEVERITIES]
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


class CaseStatus(models.TextChoices):
    NEW = "NEW", "New"
    TRIAGED = "TRIAGED", "Triaged"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    RESOLVED = "RESOLVED", "Resolved"
    CLOSED = "CLOSED", "Closed"


OPEN_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.NEW, CaseStatus.TRIAGED, CaseStatus.IN_PROGRESS)


class EventKind(models.TextChoices):
    """What a timeline entry (``CaseEvent``) records."""

    CREATED = "created"
    ALERT_ATTACHED = "alert_attached"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    NOTE = "note"
    TAGGED = "tagged"
    SEVERITY_CHANGED = "severity_changed"
    ALERTS_RESOLVED = "alerts_resolved"
    ENRICHMENT = "enrichment"
    PLAYBOOK = "playbook"
    APPROVAL = "approval"
    MERGED = "merged"
    SHARED = "shared"
    UPDATED = "updated"
    TASK = "task"


class TrafficLight(models.TextChoices):
    """TLP 2.0 (and PAP, which uses the same colours): how far information from a case may travel."""

    CLEAR = "CLEAR", "CLEAR (WHITE)"
    GREEN = "GREEN", "GREEN"
    AMBER = "AMBER", "AMBER"
    AMBER_STRICT = "AMBER+STRICT", "AMBER+STRICT"
    RED = "RED", "RED"
