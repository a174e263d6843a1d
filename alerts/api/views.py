"""The ingestion webhook. Senders authenticate with their source's token; nothing else
(sessions, user tokens) is accepted here, and a source token is accepted nowhere else."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import ingest_metrics, services
from alerts.api.parsing import parse_body, read_body
from alerts.models import AlertSource
from soar import security
from soar.errors import ApplicationError, InvalidInput, NotAuthenticated, RateLimited, UnsupportedFormat, http_status

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

AcceptedSerializer = inline_serializer(
    "IngestAccepted",
    {
        "accepted": serializers.IntegerField(),
        "alerts": serializers.ListField(child=inline_serializer(
            "IngestedAlert", {"id": serializers.IntegerField(), "duplicate": serializers.BooleanField(),
                              "resolved": serializers.BooleanField()}
        )),
    },
)
HEADERS = [
    OpenApiParameter("Authorization", str, OpenApiParameter.HEADER, required=True,
                     description="`Bearer <source token>`"),
    OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("X-Soar-Timestamp", str, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("X-Soar-Signature", str, OpenApiParameter.HEADER, required=False,
                     description="`sha256=<hex HMAC-SHA256 of timestamp + '.' + body>` when the source has a secret; "
                                 "with an Idempotency-Key: of timestamp + '.' + key + '\\n' + body"),
]


class BaseIngestView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    batch = False

    # The request being answered, for the refused-request counter: ``ingesting`` once the webhook
    # runs, its source once authenticated, its items once the body is split.
    ingesting = False
    ingest_source: AlertSource | None = None
    ingest_items: list[Any] | None = None

    def post(self, request: Request) -> Response:
        self.ingesting = True
        source = self.ingest_source = self._authenticate(request)
        body = read_body(request)
        # The key is checked first: when present it is part of the signed string.
        key = request.headers.get("Idempotency-Key", "")
        if key and not _IDEMPOTENCY_KEY.match(key):
            raise InvalidInput("Idempotency-Key must be 1-200 printable ASCII characters.")
        signature = services.verify_signature(
            source, body, request.headers.get("X-Soar-Timestamp", ""),
            request.headers.get("X-Soar-Signature", ""), idempotency_key=key,
        )
        payload = parse_body(request, body, source.kind)
        items = self.ingest_items = self.items(payload)
        stored = services.ingest(source, items, idempotency_key=key, batch=self.batch, signature=signature,
                                 defer_processing=True)
        ingest_metrics.count_ingest(source.name, stored)
        return Response(
            {"accepted": len(stored),
             "alerts": [{"id": s.id, "duplicate": not s.created and not s.resolved, "resolved": s.resolved}
                        for s in stored]},
            status=status.HTTP_202_ACCEPTED,
        )

    def handle_exception(self, exc: Exception) -> Response:
        """The refusals are answered by the project's handler (soar.api); the webhook counts them
        and names its authentication scheme on a 401."""
        response = super().handle_exception(exc)
        if self.ingesting and isinstance(exc, ApplicationError):
            ingest_metrics.count_refused(self.ingest_source, http_status(exc), self.ingest_items)
            if response.status_code == status.HTTP_401_UNAUTHORIZED:
                response["WWW-Authenticate"] = 'Bearer realm="soar-ingest"'
        return response

    def _authenticate(self, request: Request) -> AlertSource:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("Missing 'Authorization: Bearer <source token>' header.")
        address = security.client_address(request)
        remaining = security.token_lock_remaining(address)
        if remaining:
            raise RateLimited("Too many invalid tokens from this address.", retry_after=remaining)
        source = services.authenticate_source(token.strip())
        if source is None:
            security.record_token_failure(address)
            raise NotAuthenticated("Unknown or disabled source token.")
        return source

    def items(self, payload: Any) -> list[Any]:
        raise NotImplementedError


class IngestAlertView(BaseIngestView):
    @extend_schema(request={"application/json": dict, "message/rfc822": bytes}, responses={202: AcceptedSerializer},
                   parameters=HEADERS, summary="Ingest one alert (in the source's format)", tags=["ingestion"])
    def post(self, request: Request) -> Response:
        return super().post(request)

    def items(self, payload: Any) -> list[Any]:
        return [payload]


class IngestBatchView(BaseIngestView):
    batch = True

    @extend_schema(request={"application/json": dict}, responses={202: AcceptedSerializer}, parameters=HEADERS,
                   summary="Ingest up to SOAR_MAX_BATCH_ITEMS alerts in one transaction", tags=["ingestion"])
    def post(self, request: Request) -> Response:
        return super().post(request)

    def items(self, payload: Any) -> list[Any]:
        if isinstance(payload, bytes):
            raise UnsupportedFormat("A batch is JSON; post one raw message per request to /api/v1/alerts.")
        if isinstance(payload, dict) and isinstance(payload.get("alerts"), list) and len(payload) == 1:
            payload = payload["alerts"]
        if not isinstance(payload, list):
            raise InvalidInput("A batch is a JSON array of alerts or {\"alerts\": [...]}.")
        if not payload:
            raise InvalidInput("The batch is empty.")
        limit = settings.SOAR_MAX_BATCH_ITEMS
        if len(payload) > limit:
            raise InvalidInput(f"Too many items: {len(payload)} (at most {limit} per batch).")
        return payload
