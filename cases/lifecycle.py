"""The case lifecycle: which status may follow which. Used by the service that performs
transitions and by the pages that only offer the allowed ones."""

from cases.models import Case

S = Case.Status

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.TRIAGED,),
    S.TRIAGED: (S.IN_PROGRESS,),
    S.IN_PROGRESS: (S.RESOLVED,),
    S.RESOLVED: (S.CLOSED, S.IN_PROGRESS),
    S.CLOSED: (S.IN_PROGRESS,),
}
# Going back to work on a finished case is a reopen, and needs a reason.
REOPENS: set[tuple[str, str]] = {(S.RESOLVED, S.IN_PROGRESS), (S.CLOSED, S.IN_PROGRESS)}

# Button labels for the case page and admin actions.
ACTION_LABELS: dict[str, str] = {
    S.TRIAGED: "Triage",
    S.IN_PROGRESS: "Start work",
    S.RESOLVED: "Resolve",
    S.CLOSED: "Close",
}


def allowed_targets(status: str) -> tuple[str, ...]:
    return ALLOWED_TRANSITIONS.get(status, ())


def is_reopen(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in REOPENS


def action_label(from_status: str, to_status: str) -> str:
    return "Reopen" if is_reopen(from_status, to_status) else ACTION_LABELS.get(to_status, to_status)
