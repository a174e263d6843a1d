"""Multi-case writes: merging two cases in one transaction, and bulk actions from the
queue/API (each case in its own transaction; one refusal does not undo the others)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import Case, CaseEvent, CaseUserObjectPermission, Note
from cases.selectors import visible_cases
from cases.services import CaseError, InvalidInput
from cases.signals import case_merged

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from cases.roles import Actor

MAX_BULK = 500
BULK_ACTIONS = ("assign", "status", "tag", "untag")


@transaction.atomic
def merge_cases(source: Case, target: Case, *, actor: Actor, actor_label: str = "") -> Case:
    """Move alerts, alert groups, observables, notes, tags, shares and the timeline of
    ``source`` into ``target``; ``source`` is closed and points to ``target``."""
    if source.pk == target.pk:
        raise InvalidInput("A case cannot be merged into itself.", field="target")
    locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    source, target = locked[source.pk], locked[target.pk]
    for case in (source, target):
        services._ensure_may_change(actor, case)
    moved_alerts = source.alerts.update(case=target)
    source.alert_groups.update(case=target)  # later correlated alerts land in the target
    target.observables.add(*source.observables.values_list("pk", flat=True))
    target.tags.add(*source.tags.values_list("pk", flat=True))
    moved_notes = Note.objects.filter(case=source).update(case=target)
    moved_events = CaseEvent.objects.filter(case=source).update(case=target)
    CaseUserObjectPermission.objects.bulk_create(
        [CaseUserObjectPermission(user_id=p.user_id, permission_id=p.permission_id, content_object=target)
         for p in CaseUserObjectPermission.objects.filter(content_object=source)],
        ignore_conflicts=True,
    )
    before_target = {"severity": target.severity, "confidence": target.confidence}
    severity = services.higher_severity(target.severity, source.severity)
    if severity != target.severity:
        target.severity = severity
        services.apply_sla(target)
    target.confidence = max(target.confidence, source.confidence)
    target.save()
    before_source = services.snapshot(source, fields=["status", "merged_into", "closed_at"])
    now = timezone.now()
    source.merged_into = target
    source.status = Case.Status.CLOSED
    source.closed_at = now
    source.resolved_at = source.resolved_at or now
    source.save()
    counts = {"alerts": moved_alerts, "notes": moved_notes, "events": moved_events}
    services.add_case_event(
        target, CaseEvent.Kind.MERGED,
        f"Case #{source.pk} merged into this case ({moved_alerts} alerts, {moved_notes} notes, "
        f"{moved_events} timeline entries)", actor=actor, actor_label=actor_label,
        data={"source": source.pk, **counts},
    )
    services.add_case_event(source, CaseEvent.Kind.MERGED, f"Merged into case #{target.pk}", actor=actor,
                            actor_label=actor_label, data={"target": target.pk})
    services.record_audit("case.merge", source, actor=actor, actor_label=actor_label, before=before_source,
                          after={"merged_into": target.pk, "status": source.status, **counts})
    services.record_audit("case.update", target, actor=actor, actor_label=actor_label, before=before_target,
                          after={"severity": target.severity, "confidence": target.confidence,
                                 "merged_from": source.pk})
    source_id, target_id = source.pk, target.pk
    transaction.on_commit(lambda: case_merged.send(sender=Case, source_id=source_id, target_id=target_id))
    return target


def bulk_update_cases(user: Actor, case_ids: Iterable[int | str], action: str, *, assignee: User | None = None,
                      status: str = "", reason: str = "", tags: Iterable[object] = ()) -> dict[int, str]:
    """Apply ``action`` to each visible case; returns {case_id: "ok" | error message}.
    Cases the user cannot see answer "not found" (no hint that they exist)."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"Unknown action; use one of {', '.join(BULK_ACTIONS)}.", field="action")
    ids = list(dict.fromkeys(int(i) for i in case_ids))
    if not ids:
        raise InvalidInput("Select at least one case.", field="ids")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} cases per bulk action.", field="ids")
    if action == "status" and status not in Case.Status.values:
        raise InvalidInput("Choose a valid status.", field="status")
    tag_names = services.clean_tag_names(tags) if action in ("tag", "untag") else []
    if action in ("tag", "untag") and not tag_names:
        raise InvalidInput("Give at least one tag.", field="tags")
    cases = {c.pk: c for c in visible_cases(user).filter(pk__in=ids)}
    results: dict[int, str] = {}
    for case_id in ids:
        case = cases.get(case_id)
        if case is None:
            results[case_id] = "not found"
            continue
        try:
            if action == "assign":
                services.assign_case(case, assignee, actor=user)
            elif action == "status":
                services.transition_case(case, status, actor=user, reason=reason)
            elif action == "tag":
                services.change_tags(case, add=tag_names, actor=user)
            else:
                services.change_tags(case, remove=tag_names, actor=user)
            results[case_id] = "ok"
        except CaseError as exc:  # one case refused; the others go on
            results[case_id] = str(exc)
    return results
