"""Live regions of the analyst pages: a page region re-fetched every few seconds by
static/js/live.js. The fragment answers carry an ETag of their content (Django's own
ConditionalGetMiddleware logic), so an unchanged region costs the browser a 304 with no body
and no DOM change; the poller pauses while the tab is hidden."""

from __future__ import annotations

from django.http import HttpRequest
from django.middleware.http import ConditionalGetMiddleware
from django.utils.decorators import decorator_from_middleware

LIVE_HEADER = "X-Soar-Live"

# For the views that answer a live fragment: ETag from the content, 304 on If-None-Match.
conditional_fragment = decorator_from_middleware(ConditionalGetMiddleware)


def wants_fragment(request: HttpRequest) -> str:
    """The name of the region the poller asks for ("" for the whole page)."""
    return request.headers.get(LIVE_HEADER, "")[:32]
