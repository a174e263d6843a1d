"""The case lifecycle: which status may follow which. Used by the service that performs
transitions and by the pages that only offer the allowed ones.

Resolving is allowed from every open status: an analyst who can tell the verdict at once does
not click through Triage and Start work. The steps skipped that way are listed by
``skipped_steps`` and recorded by the service (their timestamps and timeline entries), so that
MTTA and MTTR stay defined. Resolving needs a verdict (``needs_verdict``)."""

from cases.models import Case

S = Case.Status

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.NEW: (S.TRIAGED, S.RESOLVED),
    S.TRIAGED: (S.IN_PROGRESS, S.RESOLVED),
    S.IN_PROGRESS: (S.RESOLVED,),
    S.RESOLVED: (S.CLOSED, S.IN_PROGRESS),
    S.CLOSED: (S.IN_PROGRESS,),
}
# Going back to work on a finished case is a reopen, and needs a reason.
REOPENS: set[tuple[str, str]] = {(S.RESOLVED, S.IN_PROGRESS), (S.CLOSED, S.IN_PROGRESS)}
# The working order of the open statuses: a jump forward skips the ones in between.
WORK_ORDER: tuple[str, ...] = (S.NEW, S.TRIAGED, S.IN_PROGRESS, S.RESOLVED)

# Button labels for the case page and admin actions.
ACTION_LABELS: dict[str, str] = {
    S.TRIAGED: "Triage",
    S.IN_PROGRESS: "Start work",
    S.RESOLVED: "Resolve…",
    S.CLOSED: "Close",
}


def allowed_targets(status: str) -> tuple[str, ...]:
    return ALLOWED_TRANSITIONS.get(status, ())


def is_reopen(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in REOPENS


def needs_verdict(to_status: str) -> bool:
    """Resolving records a verdict (resolution and summary)."""
    return to_status == S.RESOLVED


def skipped_steps(from_status: str, to_status: str) -> tuple[str, ...]:
    """The statuses a forward move jumps over: NEW → RESOLVED skips TRIAGED and IN_PROGRESS."""
    if from_status not in WORK_ORDER or to_status not in WORK_ORDER:
        return ()
    start, end = WORK_ORDER.index(from_status), WORK_ORDER.index(to_status)
    return WORK_ORDER[start + 1:end] if end > start else ()


def action_label(from_status: str, to_status: str) -> str:
    return "Reopen" if is_reopen(from_status, to_status) else ACTION_LABELS.get(to_status, to_status)
