"""Live regions of the analyst pages: a page region re-fetched every few seconds by
static/js/live.js (and the playbook panel by static/js/playbooks.js). The answers carry an ETag
of their content, so an unchanged region costs the browser a 304 with no body and no DOM
change; the pollers pause while the tab is hidden.

The ETag leaves out the CSRF token's value: Django masks it afresh on every render, so a
region holding a form would otherwise never be "unchanged"."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control

LIVE_HEADER = "X-Soar-Live"
_CSRF_VALUE = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def content_etag(content: bytes) -> str:
    return '"' + hashlib.blake2b(_CSRF_VALUE.sub(b"", content), digest_size=16).hexdigest() + '"'


def conditional_fragment(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """For the views that answer a live region: ETag from the content, 304 on If-None-Match."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if request.method != "GET" or response.status_code != 200 or not isinstance(response, HttpResponse) \
                or response.has_header("ETag"):
            return response
        etag = content_etag(response.content)
        response["ETag"] = etag
        # Private: the content depends on who asks; no-cache: revalidate every time.
        patch_cache_control(response, private=True, no_cache=True)
        return get_conditional_response(request, etag=etag, response=response) or response

    return wrapped


def wants_fragment(request: HttpRequest) -> str:
    """The name of the region the poller asks for ("" for the whole page)."""
    return request.headers.get(LIVE_HEADER, "")[:32]
