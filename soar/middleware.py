"""Request id + client address for every request, exposed to logs and the audit trail; the
database-outage answer; the pages' handler of the application's refusals."""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from soar.errors import ApplicationError, http_headers, http_status

_request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("soar_request", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_context() -> dict[str, Any]:
    """{"request_id": ..., "client_ip": ...} of the request being served, or {}."""
    return _request_context.get() or {}


def bind_request_context(**values: Any) -> contextvars.Token[dict[str, Any] | None]:
    """For tasks and commands: make their audit entries carry a request id too."""
    return _request_context.set(values)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        # Views and the log filter read it from the request; HttpRequest does not declare it.
        request.request_id = request_id  # type: ignore[attr-defined]
        # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a trusted proxy sets it.
        token = _request_context.set({"request_id": request_id, "client_ip": request.META.get("REMOTE_ADDR")})
        try:
            response = self.get_response(request)
        finally:
            _request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = (_request_context.get() or {}).get("request_id")
        if request_id is None:
            # django.request logs 4xx/5xx once the middleware has returned; the request rides along.
            request_id = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = request_id or "-"
        return True


class DatabaseUnavailableMiddleware:
    """A database that is down or restarting answers 503 + Retry-After, not a 500 page:
    senders retry, and the app recovers by itself once the database is back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            logging.getLogger(__name__).warning("database unavailable: %s", exception.__class__.__name__)
            response = JsonResponse({"detail": "Service temporarily unavailable; retry later."}, status=503)
            response["Retry-After"] = "5"
            return response
        return None


class ApplicationErrorMiddleware:
    """The pages' side of soar/errors.py: a refusal that a page view did not handle itself becomes
    a message on the page the analyst came from (a form post), or an error page with the
    refusal's status (a GET, or a post without a same-site referrer). API views answer through
    soar.api.exception_handler instead and never reach this."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        status = http_status(exception)
        referrer = request.META.get("HTTP_REFERER", "")
        if request.method == "POST" and referrer and url_has_allowed_host_and_scheme(
                referrer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            messages.error(request, str(exception.message or exception))
            return HttpResponseRedirect(referrer)
        response = render(request, "error.html", {"status": status, "message": exception.message or str(exception)},
                          status=status)
        for name, value in http_headers(exception).items():
            response[name] = value
        return response
