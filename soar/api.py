"""Project-wide DRF glue: errors always come back as JSON with field errors, never a 500 page."""

import logging

from django.db import InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, (OperationalError, InterfaceError)):
        # Database down or restarting: tell the sender to retry rather than lose the alert.
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return Response({"detail": "Service temporarily unavailable; retry later."}, status=503,
                        headers={"Retry-After": "5"})
    return None
