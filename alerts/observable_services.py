"""Writes on the observables of a case: what analysts say about them (IOC, sighted, TLP, tags,
description; ``alerts.models.CaseObservable``) and observables added to a case by hand or by
the evidence app (the hashes of an uploaded file). Every change is on the case's timeline and in
the audit log (``cases.services``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from alerts.models import CaseObservable, Observable, ObservableType
from alerts.normalization import ENTITY_TYPES, NormalizationError, make_observable, observable_text
from alerts.normalization import Observable as NormalizedObservable
from cases import selectors as case_selectors
from cases import services as case_services
from cases.roles import signed_in
from cases.vocabulary import EventKind
from soar import errors

if TYPE_CHECKING:
    from cases.models import Case
    from cases.roles import Actor

MAX_TAGS = 20
MAX_TAG_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 5_000
ATTRIBUTE_FIELDS = ["ioc", "sighted", "sighted_at", "tlp", "tags", "description"]


def _ensure_may_change(actor: Actor, case: Case) -> None:
    if signed_in(actor) is not None and not case_selectors.can_change_case(actor, case):
        raise errors.NotAllowed("You may not change this case.")
    if case.merged_into_id:
        raise errors.Conflict(f"Case #{case.pk} was merged into case #{case.merged_into_id}; change that one.")


def clean_tags(raw: object) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, de-duplicated, in order."""
    items = raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else None
    if items is None:
        raise errors.InvalidInput("Tags must be a list or a comma-separated string.", errors={"tags": ["Not a list."]})
    tags: list[str] = []
    for item in items:
        tag = str(item).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise errors.InvalidInput("Tag too long.", errors={"tags": [f"At most {MAX_TAG_LENGTH} characters."]})
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise errors.InvalidInput("Too many tags.", errors={"tags": [f"At most {MAX_TAGS} tags."]})
    return tags


def update_case_observable(case: Case, observable_id: int, *, actor: Actor, ioc: bool | None = None,
                           sighted: bool | None = None, sighted_at: datetime | None = None,
                           tlp: str | None = None, tags: object = None,
                           description: str | None = None) -> CaseObservable:
    """Set what the case says about one of its observables (only the arguments given change).
    Marking it sighted without a time stamps now; clearing the flag clears the time."""
    _ensure_may_change(actor, case)
    observable = Observable.objects.filter(pk=observable_id, cases=case.pk).first()
    if observable is None:
        raise errors.NotFound("This observable is not in the case.")
    changes: dict[str, Any] = {}
    if ioc is not None:
        changes["ioc"] = bool(ioc)
    if tlp is not None:
        if tlp not in CaseObservable.Tlp.values:
            allowed = ", ".join(CaseObservable.Tlp.values)
            raise errors.InvalidInput("Unknown TLP.", errors={"tlp": [f"One of {allowed}."]})
        changes["tlp"] = tlp
    if tags is not None:
        changes["tags"] = clean_tags(tags)
    if description is not None:
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise errors.InvalidInput("Description too long.",
                                      errors={"description": [f"At most {MAX_DESCRIPTION_LENGTH} characters."]})
        changes["description"] = description.strip()
    with transaction.atomic():
        row, _ = CaseObservable.objects.select_for_update().get_or_create(case_id=case.pk, observable=observable)
        before = case_services.snapshot(row, ATTRIBUTE_FIELDS) | {"tags": list(row.tags)}
        if sighted is not None:
            changes["sighted"] = bool(sighted)
            changes["sighted_at"] = (sighted_at or row.sighted_at or timezone.now()) if sighted else None
        for field, value in changes.items():
            setattr(row, field, value)
        row.updated_by = signed_in(actor)
        row.save()
        after = case_services.snapshot(row, ATTRIBUTE_FIELDS) | {"tags": list(row.tags)}
        changed = sorted(k for k in after if after[k] != before.get(k))
        if changed:
            label = f"{observable.type} {observable.value[:120]}"
            case_services.add_case_event(case, EventKind.UPDATED, f"Observable {label}: {', '.join(changed)} changed",
                                         actor=actor, data={"observable": observable.pk, "changed": changed})
            case_services.record_audit("case.observable_updated", case, actor=actor,
                                       before={"observable": observable.pk, **before},
                                       after={"observable": observable.pk, **after})
    return row


def observable_types() -> dict[str, ObservableType]:
    """The active observable types by key (the built-in eight and the admin's own)."""
    return {row.key: row for row in ObservableType.objects.filter(active=True)}


def observable_type_choices() -> list[tuple[str, str]]:
    """(key, label) of the types analysts may add by hand, for the forms and pages."""
    return [(row.key, row.label or row.key) for row in ObservableType.objects.filter(active=True)]


def clean_observable(obs_type: object, value: object,
                     types: dict[str, ObservableType] | None = None) -> NormalizedObservable:
    """One observable added by hand: ``obs_type`` must be an active type; a built-in type keeps
    its normalisation (make_observable), an admin-defined one gets the common clean-up (trimmed,
    control characters removed, length); then the type's regex, when it has one, must match the
    whole value. Refusals are field errors (``type`` or ``value``). A built-in type without a
    row (a database not migrated to alerts/0013) is accepted as before."""
    types = observable_types() if types is None else types
    key = obs_type if isinstance(obs_type, str) else ""
    row = types.get(key)
    if row is None and not (key in ENTITY_TYPES and not ObservableType.objects.filter(key=key).exists()):
        allowed = ", ".join(sorted(types)) or ", ".join(ENTITY_TYPES)
        raise NormalizationError({"type": [f"Must be one of {allowed}; got {str(obs_type)[:40]!r}."]})
    if key in ENTITY_TYPES:
        found = make_observable(key, value)
    else:
        found = NormalizedObservable(key, observable_text(value))
    if row is not None and row.validation_regex and not _matches(row.validation_regex, found.value):
        raise NormalizationError({"value": [f"Does not look like a {row.label or row.key} value."]})
    return found


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:  # saved before the admin form checked it: a broken regex refuses nothing
        return True


def add_observables_to_case(case: Case, pairs: Iterable[tuple[str, str]]) -> list[Observable]:
    """Link these (type, value) observables to the case, creating the shared rows as needed
    (idempotent). The caller writes the timeline and audit entries of the change that brought
    them (an upload, a note). Any active observable type is accepted (``clean_observable``);
    invalid values are refused with field errors."""
    wanted: dict[tuple[str, str], str] = {}
    types = observable_types()
    for obs_type, value in pairs:
        try:
            found = clean_observable(obs_type, value, types)
        except NormalizationError as exc:
            raise errors.InvalidInput(f"Not a valid observable: {exc.message}", errors=exc.errors)
        wanted[(found.type, Observable.digest(found.value))] = found.value
    if not wanted:
        return []
    Observable.objects.bulk_create([Observable(type=t, value=v, value_hash=h) for (t, h), v in wanted.items()],
                                   ignore_conflicts=True)
    by_key = {(o.type, o.value_hash): o for o in
              Observable.objects.filter(value_hash__in={h for _, h in wanted})}
    observables = [by_key[key] for key in wanted if key in by_key]
    through = Observable.cases.through
    through.objects.bulk_create([through(case_id=case.pk, observable_id=o.pk) for o in observables],
                                ignore_conflicts=True)
    return observables


@transaction.atomic
def add_case_observable(case: Case, obs_type: object, value: object, *, actor: Actor) -> Observable:
    """An analyst (or a playbook step, with no user) adds one observable to the case by hand: any
    active type, the value checked by ``clean_observable``; on the timeline and in the audit log."""
    _ensure_may_change(actor, case)
    observable = add_observables_to_case(case, [(obs_type, value)])[0]  # type: ignore[list-item]
    label = f"{observable.type} {observable.value[:120]}"
    case_services.add_case_event(case, EventKind.UPDATED, f"Observable {label} added", actor=actor,
                                 data={"observable": observable.pk, "added": True})
    case_services.record_audit("case.observable_added", case, actor=actor,
                               after={"observable": observable.pk, "type": observable.type,
                                      "value": observable.value[:255]})
    return observable
