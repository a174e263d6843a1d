"""Run transitions shared by the engine and the approvals: who a run acts as, and how a run
ends (status, timeline entry). Called with the run row locked."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from cases.services import add_case_event
from cases.vocabulary import EventKind
from playbooks.models import PlaybookRun


def actor_label(run: PlaybookRun) -> str:
    # The "playbook:" prefix is what keeps a run's own case changes from re-triggering playbooks.
    return f"playbook:{run.playbook_name}"[:150]


def finish(run: PlaybookRun, status: str, *, error: str = "", actor: User | None = None) -> None:
    run.status, run.finished_at, run.error = status, timezone.now(), error[:4000]
    run.save()
    message = f"Playbook '{run.playbook_name}' v{run.version} {PlaybookRun.Status(status).label.lower()}"
    if error:
        message += f": {error[:500]}"
    add_case_event(run.case, EventKind.PLAYBOOK, message, actor=actor, actor_label=actor_label(run),
                   data={"run_id": run.pk, "status": status})
