"""Custom fields of cases: admin-defined, typed fields (``CustomFieldDefinition``) whose values
live in ``Case.custom_fields`` as JSON, keyed by the definition's key.

Stored JSON per type: string, choice and user -> a string (a user by username); number -> an
integer when whole, else a float; boolean -> true/false; date -> "YYYY-MM-DD". The same form is
what the queue's and the API's ``cf_<key>=<value>`` filters compare with (``custom_field_q``).

Who may be named in a "user" field: an active user who is a member of the case's team; for a
case without a team, any active user (the field records who works on the case, and a case's
people are its team's).

Models only (no cases.services import), like cases.task_templates: cases.services imports the
templates, which apply default values from here; the edit service below writes its own timeline
and audit rows the way ``task_templates.create_template_rows`` does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q

from cases.models import AuditLog, Case, CaseEvent, CustomFieldDefinition
from cases.roles import signed_in
from cases.selectors import can_change_case
from soar import errors
from soar.middleware import current_request_context

if TYPE_CHECKING:
    from cases.roles import Actor

FieldType = CustomFieldDefinition.Type
MAX_STRING_LENGTH = 1_000
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
FILTER_PREFIX = "cf_"


class CustomFieldError(errors.InvalidInput):
    """Values refused; ``errors`` is ``{"custom_fields": {key: [message]}}`` (a 400)."""

    code = "invalid_custom_fields"

    def __init__(self, field_errors: Mapping[str, list[str]]):
        summary = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in field_errors.items())
        super().__init__(f"Custom fields not saved: {summary}", errors={"custom_fields": dict(field_errors)})
        self.field_errors = dict(field_errors)


# --- definitions ----------------------------------------------------------------------------------

def active_definitions() -> list[CustomFieldDefinition]:
    """The active definitions, in display order (one small query)."""
    return list(CustomFieldDefinition.objects.filter(active=True).order_by("order", "key"))


@dataclass(frozen=True)
class QueueFilterInput:
    """One custom field's input among the queue's filters: ``name`` is its ``cf_<key>`` parameter."""

    name: str
    label: str
    type: str
    choices: list[str]
    value: str


def queue_filter_inputs(params: Mapping[str, Any]) -> list[QueueFilterInput]:
    """The queue's filter inputs of the active definitions, with the values ``params`` gives."""
    return [QueueFilterInput(name=f"{FILTER_PREFIX}{d.key}", label=d.label, type=d.type,
                             choices=list(d.choices or []), value=str(params.get(f"{FILTER_PREFIX}{d.key}", "")))
            for d in active_definitions()]


def export_columns(definitions: list[CustomFieldDefinition] | None = None) -> list[tuple[str, str]]:
    """One (column, queryset field) per active definition, for the case exports."""
    return [(f"{FILTER_PREFIX}{d.key}", f"custom_fields__{d.key}")
            for d in (active_definitions() if definitions is None else definitions)]


# --- values ---------------------------------------------------------------------------------------

def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def coerce(field_type: str, raw: object) -> str | int | float | bool:
    """``raw`` (a form's text or a JSON value) as the stored JSON value of ``field_type``;
    ValueError with a message fit for the analyst when it is not one."""
    if field_type == FieldType.NUMBER:
        return _number(raw)
    if field_type == FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower() if isinstance(raw, (str, int)) else ""
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("Not a yes/no value (true or false).")
    if field_type == FieldType.DATE:
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            return raw.isoformat()
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw.strip()).isoformat()
            except ValueError:
                pass
        raise ValueError("Not a date (YYYY-MM-DD).")
    if not isinstance(raw, str):
        raise ValueError("Must be text.")
    text = raw.strip()
    if len(text) > MAX_STRING_LENGTH:
        raise ValueError(f"At most {MAX_STRING_LENGTH} characters.")
    return text


def _number(raw: object) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        raise ValueError("Not a number.")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError("Not a number.")
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise ValueError("Not a finite number below 10^15.")
    return int(number) if number == number.to_integral_value() else float(number)


def _user_allowed(username: str, team_id: int | None) -> bool:
    users = get_user_model().objects.filter(username=username, is_active=True)
    if team_id is not None:
        users = users.filter(soc_teams=team_id)
    return users.exists()


def clean_values(values: object, definitions: list[CustomFieldDefinition], *,
                 team_id: int | None) -> dict[str, Any]:
    """The given values checked against the active ``definitions``: key -> stored value, or
    None for "clear it". Unknown keys, wrong types, choices not offered and users that may not
    be named are refused together (``CustomFieldError``)."""
    if not isinstance(values, Mapping):
        raise CustomFieldError({"non_field_errors": ["Custom fields must be an object of key: value."]})
    by_key = {d.key: d for d in definitions}
    cleaned: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for key, raw in values.items():
        definition = by_key.get(str(key))
        if definition is None:
            problems[str(key)[:60]] = ["Unknown custom field."]
            continue
        if is_empty(raw):
            cleaned[definition.key] = None
            continue
        try:
            value = coerce(definition.type, raw)
        except ValueError as exc:
            problems[definition.key] = [str(exc)]
            continue
        if definition.type == FieldType.CHOICE and value not in (definition.choices or []):
            problems[definition.key] = [f"Must be one of: {', '.join(map(str, definition.choices or []))}."]
        elif definition.type == FieldType.USER and not _user_allowed(str(value), team_id):
            problems[definition.key] = ["No active user of the case's team has this username."]
        else:
            cleaned[definition.key] = value
    if problems:
        raise CustomFieldError(problems)
    return cleaned


def merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` applied (None removes a key)."""
    result = dict(current)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def missing_required(values: Mapping[str, Any], definitions: list[CustomFieldDefinition]) -> dict[str, list[str]]:
    return {d.key: ["This field is required."] for d in definitions if d.required and is_empty(values.get(d.key))}


def shown(value: object) -> str:
    """A value as the timeline and the page show it."""
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- writes -----------------------------------------------------------------------------------------

def _ensure_may_change(actor: Actor, case: Case) -> None:
    """Automation (no user) may change anything; a user needs change access to the case."""
    if signed_in(actor) and not can_change_case(actor, case):
        raise errors.NotAllowed("You may not change this case.")
    if case.merged_into_id:
        raise errors.Conflict(f"Case #{case.pk} was merged into case #{case.merged_into_id}; change that one.")


@transaction.atomic
def set_custom_fields(case: Case, values: object, *, actor: Actor, actor_label: str = "") -> Case:
    """Change some of the case's custom fields (the keys given; an empty value clears one). Every
    required active field must have a value afterwards. One timeline entry per changed field
    ("Custom field X changed from A to B") and one audit entry for the change."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _ensure_may_change(actor, case)
    definitions = active_definitions()
    changes = clean_values(values, definitions, team_id=case.team_id)
    before = dict(case.custom_fields or {})
    after = merged(before, changes)
    missing = missing_required(after, definitions)
    if missing:
        raise CustomFieldError(missing)
    changed = [key for key in changes if before.get(key) != after.get(key)]
    if not changed:
        return case
    case.custom_fields = after
    case.save(update_fields=["custom_fields", "updated_at"])
    user = signed_in(actor)
    label = actor_label or (user.username if user else "")
    labels = {d.key: d.label for d in definitions}
    CaseEvent.objects.bulk_create([
        CaseEvent(case=case, kind=CaseEvent.Kind.UPDATED, actor=user, actor_label=label,
                  message=f"Custom field {labels[key]} changed from {shown(before.get(key))} "
                          f"to {shown(after.get(key))}",
                  data={"custom_field": key, "before": before.get(key), "after": after.get(key)})
        for key in changed
    ])
    ctx = current_request_context()
    AuditLog.objects.create(
        actor=user, actor_label=label, action="case.custom_fields", object_type=case._meta.label_lower,
        object_id=str(case.pk), object_repr=str(case)[:255],
        before={key: before.get(key) for key in changed}, after={key: after.get(key) for key in changed},
        request_id=ctx.get("request_id", ""), client_ip=ctx.get("client_ip"))
    return case


def template_defaults(defaults: object, definitions: list[CustomFieldDefinition] | None = None) -> dict[str, Any]:
    """A template's default values that still fit the active definitions (a default whose
    field was deactivated or redefined since is skipped, never a reason to refuse a case).
    Users are not checked here: the template does not know the case's team."""
    if not isinstance(defaults, Mapping) or not defaults:
        return {}
    by_key = {d.key: d for d in (active_definitions() if definitions is None else definitions)}
    kept: dict[str, Any] = {}
    for key, raw in defaults.items():
        definition = by_key.get(key)
        if definition is None or is_empty(raw):
            continue
        try:
            value = coerce(definition.type, raw)
        except ValueError:
            continue
        if definition.type == FieldType.CHOICE and value not in (definition.choices or []):
            continue
        kept[key] = value
    return kept


def check_template_defaults(defaults: object) -> dict[str, Any]:
    """A template's defaults as the admin saves them: refused like an analyst's values, except
    that a user default is only checked to be an active user (the template has no team)."""
    return clean_values(defaults, active_definitions(), team_id=None) if defaults else {}


# --- reads ------------------------------------------------------------------------------------------

def custom_field_q(key: str, value: str | int | float | bool) -> Q:
    """Cases whose field ``key`` holds exactly ``value`` (already coerced). On PostgreSQL a
    containment test, which the GIN index (jsonb_path_ops, migration 0018) answers; SQLite
    compares the extracted JSON value."""
    if connection.vendor == "postgresql":
        return Q(custom_fields__contains={key: value})
    return Q(**{f"custom_fields__{key}": value})


def case_field_rows(case: Case, definitions: list[CustomFieldDefinition] | None = None) -> list[dict[str, Any]]:
    """The case page's rows: one per active definition, with the stored and the shown value."""
    values = case.custom_fields or {}
    return [{"definition": d, "value": values.get(d.key), "shown": shown(values.get(d.key)) if d.key in values else ""}
            for d in (active_definitions() if definitions is None else definitions)]
