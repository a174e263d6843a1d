"""The application's one error type. Services raise a subclass of ``ApplicationError`` (its
kind says what went wrong, never an HTTP status); the API's exception handler
(``soar.api.exception_handler``) and the pages' middleware (``soar.middleware.ApplicationErrorMiddleware``)
turn every one of them into a response, through ``http_status`` below: the only place that maps
a refusal to HTTP.

Each app names its own refusals as subclasses of these kinds (``cases.services.InvalidTransition``
is a ``Conflict``), so a caller can catch the precise one and the handlers still know the kind.

The body of an API error: ``{"detail": message, "code": code}`` plus ``{field: [message]}`` when
a field is named, or the error's own ``errors`` mapping (a batch's per-item errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ApplicationError(Exception):
    """A refused request or change. ``str(exc)`` is a message fit for the analyst or the sender;
    ``code`` is stable for machines; ``field`` names the input at fault; ``errors`` replaces the
    body's detail with a structured one; ``retry_after`` (seconds) tells a sender when to retry."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, field: str | None = None, errors: Mapping[str, Any] | None = None,
                 code: str | None = None, retry_after: int | None = None):
        super().__init__(message or (str(dict(errors)) if errors else self.code))
        self.message = message
        self.field = field
        self.errors = dict(errors) if errors is not None else None
        self.retry_after = retry_after
        if code:
            self.code = code  # type: ignore[misc]  # one instance's code; the class keeps its own

    def body(self) -> dict[str, Any]:
        if self.errors is not None:
            return self.errors
        body: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.field:
            body[self.field] = [self.message]
        return body


class InvalidInput(ApplicationError):
    """A value the caller sent cannot be used."""

    code = "invalid"


class NotAuthenticated(ApplicationError):
    """No credentials, or credentials that name nobody."""

    code = "not_authenticated"


class NotAllowed(ApplicationError):
    """The caller's role or team does not allow this."""

    code = "not_allowed"


class NotFound(ApplicationError):
    """The thing named does not exist (or the caller may not know it does)."""

    code = "not_found"


class Conflict(ApplicationError):
    """The change does not fit the current state (a lifecycle step, a closed approval)."""

    code = "conflict"


class TooLarge(ApplicationError):
    """The request is larger than the configured limit."""

    code = "too_large"


class UnsupportedFormat(ApplicationError):
    """The body's format is not one this endpoint reads."""

    code = "unsupported_format"


class RateLimited(ApplicationError):
    """Too many requests; ``retry_after`` says when to come back."""

    code = "rate_limited"


class Unavailable(ApplicationError):
    """A dependency is down (database, broker, provider); retrying later may succeed."""

    code = "unavailable"


_STATUS: tuple[tuple[type[ApplicationError], int], ...] = (
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (UnsupportedFormat, 415),
    (RateLimited, 429),
    (Unavailable, 503),
)


def http_status(exc: ApplicationError) -> int:
    """The HTTP status of a refusal, by its kind (400 for a kind not listed)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def http_headers(exc: ApplicationError) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
