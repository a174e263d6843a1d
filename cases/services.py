"""Writes on cases: creation, alert attachment, timeline events and the audit trail.

Every change to a case goes through here so that the timeline and audit log cannot be
forgotten by one caller (UI, API, admin or automation)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from cases.models import SEVERITY_RANK, AuditLog, Case, CaseEvent, Team
from soar.middleware import current_request_context

AUTOMATION = "automation"


def snapshot(obj, fields=None) -> dict[str, Any]:
    """JSON-safe dict of a model's concrete fields, for audit before/after."""
    data = model_to_dict(obj, fields=fields)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v if isinstance(v, (int, str, bool, type(None), float)) else str(v))
            for k, v in data.items() if not isinstance(v, list)}


def record_audit(action: str, obj, *, actor=None, actor_label: str = "", before=None, after=None) -> AuditLog:
    ctx = current_request_context()
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label or (getattr(actor, "username", "") if actor else ""),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        object_repr=str(obj)[:255] if obj is not None else "",
        before=before,
        after=after,
        request_id=ctx.get("request_id", ""),
        client_ip=ctx.get("client_ip"),
    )


def add_case_event(case: Case, kind: str, message: str = "", *, actor=None, actor_label: str = "",
                   data: dict | None = None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        message=message,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label or (getattr(actor, "username", "") if actor else ""),
        data=data or {},
    )


def higher_severity(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b


@transaction.atomic
def open_case(*, title: str, severity: str, confidence: int = 50, description: str = "",
              team: Team | None = None, actor=None, actor_label: str = AUTOMATION) -> Case:
    case = Case.objects.create(
        title=title[:500], description=description, severity=severity, confidence=confidence, team=team
    )
    add_case_event(case, CaseEvent.Kind.CREATED, f"Case opened ({severity})", actor=actor, actor_label=actor_label)
    record_audit("case.create", case, actor=actor, actor_label=actor_label, after=snapshot(case))
    return case


@transaction.atomic
def record_alerts_attached(case_id: int, alerts: list[dict], *, actor=None, actor_label: str = AUTOMATION) -> Case:
    """Called by the alerts app once it has linked alerts to a case: raises the case's
    severity/confidence to the highest alert's and writes one timeline entry per alert.
    ``alerts`` are plain dicts (id, title, severity, confidence, observable_ids)."""
    case = Case.objects.select_for_update().get(pk=case_id)
    before = {"severity": case.severity, "confidence": case.confidence}
    for alert in alerts:
        case.severity = higher_severity(case.severity, alert["severity"])
        case.confidence = max(case.confidence, alert.get("confidence", 0))
        add_case_event(
            case, CaseEvent.Kind.ALERT_ATTACHED, f"Alert #{alert['id']} attached: {alert['title'][:200]}",
            actor=actor, actor_label=actor_label, data={"alert_id": alert["id"], "severity": alert["severity"]},
        )
        if alert.get("observable_ids"):
            case.observables.add(*alert["observable_ids"])
    after = {"severity": case.severity, "confidence": case.confidence}
    if after != before:
        case.save(update_fields=["severity", "confidence", "updated_at"])
        if after["severity"] != before["severity"]:
            add_case_event(case, CaseEvent.Kind.SEVERITY_CHANGED,
                           f"Severity raised {before['severity']} → {after['severity']}",
                           actor=actor, actor_label=actor_label, data={"before": before, "after": after})
        record_audit("case.update", case, actor=actor, actor_label=actor_label, before=before, after=after)
    else:
        Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return case
