"""The navigation's live badges: approvals waiting for this user and open cases assigned to
them. Two count queries on indexed columns; the fragment is re-fetched by static/js/live.js and
answered 304 while the counts are unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.selectors import assigned_open_count
from playbooks.selectors import answerable_approvals

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def badge_counts(user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    if not user.is_authenticated:
        return {"approvals": 0, "assigned": 0}
    return {"approvals": answerable_approvals(user).count(), "assigned": assigned_open_count(user)}
