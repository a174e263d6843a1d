"""The navigation's live badges: approvals waiting for this user and open cases assigned to
them. Two capped count queries on indexed columns; the fragment is re-fetched by static/js/live.js and
answered 304 while the counts are unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.selectors import assigned_open_count
from playbooks.selectors import answerable_approvals

if TYPE_CHECKING:
    from cases.roles import Actor


# The badges count up to this many and then show "99+": a capped count reads at most this many
# index entries instead of all of them (7.4 ms for 20,000 assigned cases, on every page).
BADGE_CAP = 100


def badge_counts(user: Actor) -> dict[str, int]:
    """The counts, each at most ``BADGE_CAP`` (the template shows ``BADGE_CAP - 1`` and more as "99+")."""
    if user is None or not user.is_authenticated:
        return {"approvals": 0, "assigned": 0}
    return {"approvals": answerable_approvals(user).order_by()[:BADGE_CAP].count(),
            "assigned": assigned_open_count(user, cap=BADGE_CAP)}
