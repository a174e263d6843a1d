"""Live fragments of the pages that belong to the playbooks floor (the navigation badges)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from playbooks.badges import badge_counts
from soar.live import conditional_fragment


@require_GET
@login_required
@conditional_fragment
def nav_badges(request):
    return render(request, "playbooks/_nav_badges.html", {"badges": badge_counts(request.user)})
