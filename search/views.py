"""The results page of the top bar's search box."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from search import selectors


@require_GET
@login_required
def results(request):
    found = selectors.search(request.user, request.GET.get("q", ""))
    return render(request, "search/results.html", {"results": found, "min_chars": selectors.MIN_CHARS,
                                                   "count_cap": selectors.COUNT_CAP})
