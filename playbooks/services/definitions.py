"""Saving playbooks: every save validates the definition and records a new version."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from cases.services import record_audit
from playbooks.models import Playbook, PlaybookVersion
from playbooks.schema import DefinitionError, parse_and_validate


def detect_format(text: str) -> str:
    return Playbook.Format.JSON if text.lstrip().startswith("{") else Playbook.Format.YAML


@transaction.atomic
def save_playbook(*, definition_text: str, playbook: Playbook | None = None, enabled: bool | None = None,
                  fmt: str | None = None, actor: User | None = None) -> Playbook:
    """Create or update a playbook from its text; raises DefinitionError with every problem.
    A new version is recorded only when the text changed (toggling `enabled` is not one)."""
    fmt = fmt or detect_format(definition_text)
    definition = parse_and_validate(definition_text, fmt)
    name = definition["name"].strip()
    clash = Playbook.objects.filter(name=name)
    if playbook is not None and playbook.pk:
        clash = clash.exclude(pk=playbook.pk)
    if clash.exists():
        raise DefinitionError([f"name: a playbook named {name!r} already exists"])
    creating = playbook is None or playbook.pk is None
    playbook = playbook or Playbook()
    before = None if creating else {"version": playbook.version, "enabled": playbook.enabled}
    # Compared with the stored row: a ModelForm has already copied the new text onto ``playbook``.
    stored_text = None if creating else Playbook.objects.filter(pk=playbook.pk).values_list(
        "definition_text", flat=True).first()
    text_changed = creating or stored_text != definition_text
    playbook.name = name
    playbook.description = str(definition.get("description", ""))
    playbook.definition_format = fmt
    playbook.definition_text = definition_text
    playbook.definition = definition
    playbook.trigger_type = definition["trigger"]["type"]
    if enabled is not None:
        playbook.enabled = enabled
    if text_changed:
        playbook.version += 1
    playbook.save()
    if text_changed:
        PlaybookVersion.objects.create(playbook=playbook, version=playbook.version, definition_text=definition_text,
                                       definition=definition, created_by=actor if getattr(actor, "pk", None) else None)
    record_audit("playbook.create" if creating else "playbook.update", playbook, actor=actor, before=before,
                 after={"version": playbook.version, "enabled": playbook.enabled, "trigger": playbook.trigger_type})
    return playbook
