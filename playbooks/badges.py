"""The navigation's live badges: approvals waiting for this user and open cases assigned to
them. Two count queries on indexed columns; the fragment is re-fetched by static/js/live.js and
answered 304 while the counts are unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.selectors import assigned_open_count
from playbooks.selectors import answerable_approvals

if TYPE_CHECKING:
    from cases.roles import Actor


def badge_counts(user: Actor) -> dict[str, int]:
    if user is None or not user.is_authenticated:
        return {"approvals": 0, "assigned": 0}
    return {"approvals": answerable_approvals(user).count(), "assigned": assigned_open_count(user)}
