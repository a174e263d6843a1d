"""Project-wide DRF glue: errors always come back as JSON with field errors, never a 500 page."""

import logging
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from soar.errors import ApplicationError, http_headers, http_status
from soar.json_limits import json_problem

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the application's refusals (soar/errors.py) and a database outage."""
    if isinstance(exc, ApplicationError):
        return Response(exc.body(), status=http_status(exc), headers=http_headers(exc))
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, (OperationalError, InterfaceError)):
        # Database down or restarting: tell the sender to retry rather than lose the alert.
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return Response({"detail": "Service temporarily unavailable; retry later."}, status=503,
                        headers={"Retry-After": "5"})
    return None


class SafeJSONParser(JSONParser):
    """DRF's JSON parser with the webhook's limits: deep nesting would otherwise escape as a
    RecursionError (a 500), NUL characters as a database error."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON is nested deeper than {settings.SOAR_MAX_JSON_DEPTH} levels.")
        problem = json_problem(data, settings.SOAR_MAX_JSON_DEPTH)
        if problem:
            raise ParseError(problem)
        return data
