"""Multi-case writes: merging two cases in one transaction, and bulk actions from the
queue/API (each case in its own transaction; one refusal does not undo the others)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from cases import services
from cases.lifecycle import allowed_targets, needs_verdict
from cases.models import Case, CaseEvent, CaseUserObjectPermission, Note, Resolution
from cases.roles import signed_in
from cases.selectors import can_change_case, visible_cases
from cases.services import CaseError, InvalidInput
from cases.signals import case_merged, case_merging
from cases.techniques import carry_techniques

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from cases.roles import Actor

MAX_BULK = 500
BULK_ACTIONS = ("assign", "status", "resolve", "tag", "untag")


@transaction.atomic
def merge_cases(source: Case, target: Case, *, actor: Actor, actor_label: str = "") -> Case:
    """Move alerts, alert groups, observables, notes, tags, shares and the timeline of
    ``source`` into ``target``; ``source`` is closed and points to ``target``. The target also
    gains the source's ATT&CK techniques, and (through ``case_merging`` receivers in the upper
    apps, in this transaction) its evidence files and observable flags, without duplicates."""
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
    carried: dict[str, int] = {"techniques": carry_techniques(source, target)}
    for _receiver, answer in case_merging.send(sender=Case, source_id=source.pk, target_id=target.pk):
        carried.update(answer if isinstance(answer, dict) else {})
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
    if source.resolution_id is None:  # a merged case is a duplicate, for the false-positive rates too
        source.resolution = Resolution.objects.filter(slug="duplicate").first()
        source.resolution_summary = f"Merged into case #{target.pk}."
        source.resolved_by = signed_in(actor)
    source.save()
    counts = {"alerts": moved_alerts, "notes": moved_notes, "events": moved_events, **carried}
    services.add_case_event(
        target, CaseEvent.Kind.MERGED,
        f"Case #{source.pk} merged into this case ({moved_alerts} alerts, {moved_notes} notes, "
        f"{moved_events} timeline entries{_carried_text(carried)})", actor=actor, actor_label=actor_label,
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


def _carried_text(carried: dict[str, int]) -> str:
    """", 2 techniques, 1 evidence_files" for what the merge copied over; "" when nothing."""
    return "".join(f", {count} {what.replace('_', ' ')}" for what, count in carried.items() if count)


def _skip_reason(user: Actor, case: Case, action: str, status: str) -> str | None:
    """Why ``action`` cannot apply to this case, in a few words; None when it may be tried.
    Checked before trying, so the analyst reads "#4 already closed" instead of a refusal each."""
    if case.merged_into_id:
        return "read-only (merged)"
    if not can_change_case(user, case):
        return "read-only"
    target = Case.Status.RESOLVED if action == "resolve" else status if action == "status" else ""
    if target and case.status == target:
        return f"already {Case.Status(target).label.lower()}"
    if target and target not in allowed_targets(case.status):
        if case.status not in Case.OPEN_STATUSES:
            return f"already {Case.Status(case.status).label.lower()}"
        return f"cannot go from {Case.Status(case.status).label} to {Case.Status(target).label}"
    return None


def bulk_update_cases(user: Actor, case_ids: Iterable[int | str], action: str, *, assignee: User | None = None,
                      status: str = "", reason: str = "", tags: Iterable[object] = (),
                      resolution: object = None, summary: str = "") -> dict[int, str]:
    """Apply ``action`` to each visible case; returns {case_id: "ok" | why it was skipped}.
    Cases the user cannot see answer "not found" (no hint that they exist). "resolve" needs a
    resolution and a summary, checked once for all the cases."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"Unknown action; use one of {', '.join(BULK_ACTIONS)}.", field="action")
    ids = list(dict.fromkeys(int(i) for i in case_ids))
    if not ids:
        raise InvalidInput("Select at least one case.", field="ids")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} cases per bulk action.", field="ids")
    if action == "status" and status not in Case.Status.values:
        raise InvalidInput("Choose a valid status.", field="status")
    if action == "status" and needs_verdict(status):
        action = "resolve"  # the same verdict rules, whichever way the bulk form said it
    if action == "resolve":
        services.check_verdict(user, resolution, summary)
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
        skip = _skip_reason(user, case, action, status)
        if skip:
            results[case_id] = skip
            continue
        try:
            if action == "assign":
                services.assign_case(case, assignee, actor=user)
            elif action == "status":
                services.transition_case(case, status, actor=user, reason=reason)
            elif action == "resolve":
                services.resolve_case(case, resolution=resolution, summary=summary, actor=user)
            elif action == "tag":
                services.change_tags(case, add=tag_names, actor=user)
            else:
                services.change_tags(case, remove=tag_names, actor=user)
            results[case_id] = "ok"
        except CaseError as exc:  # one case refused; the others go on
            results[case_id] = str(exc)
    return results


DONE_VERBS = {"assign": "Assigned", "status": "Updated", "resolve": "Resolved", "tag": "Tagged",
              "untag": "Untagged"}
MAX_LISTED = 10


def bulk_message(action: str, results: dict[int, str]) -> str:
    """One sentence for the whole batch: "Resolved 7 cases; skipped 2: #4 already closed, #9
    read-only (merged)" (the first MAX_LISTED skips named, the rest counted)."""
    done = sum(1 for value in results.values() if value == "ok")
    skipped = [(pk, why) for pk, why in results.items() if why != "ok"]
    verb = DONE_VERBS.get(action, "Updated")
    text = f"{verb} {done} case{'' if done == 1 else 's'}"
    if skipped:
        listed = ", ".join(f"#{pk} {why}" for pk, why in skipped[:MAX_LISTED])
        more = f" and {len(skipped) - MAX_LISTED} more" if len(skipped) > MAX_LISTED else ""
        text += f"; skipped {len(skipped)}: {listed}{more}"
    return text
