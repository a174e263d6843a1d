"""Strict, bounded JSON reading for the webhook: size, depth, NUL bytes and non-finite
numbers are refused with a clear 4xx before anything reaches an adapter."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.request import Request

from soar.errors import InvalidInput, TooLarge, UnsupportedFormat
from soar.json_limits import json_problem


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def read_body(request: Request) -> bytes:
    limit = settings.SOAR_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidInput("Invalid Content-Length header.")
    if declared > limit:
        raise TooLarge(f"Request body is larger than {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise TooLarge(f"Request body is larger than {limit} bytes.")
    if len(body) > limit:
        raise TooLarge(f"Request body is larger than {limit} bytes.")
    return body


# Raw e-mail (an .eml file as it is) is taken by sources whose adapter reads it.
RAW_MESSAGE_TYPES = ("message/rfc822", "application/eml")
RAW_MESSAGE_KINDS = ("email",)


def content_type_of(request: Request) -> str:
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def parse_body(request: Request, body: bytes, source_kind: str) -> Any:
    """The payload to hand to the source's adapter: parsed JSON, or the raw bytes of a message."""
    content_type = content_type_of(request)
    if source_kind in RAW_MESSAGE_KINDS and content_type not in RAW_MESSAGE_TYPES and looks_like_message(body):
        # A mail relay or script that posts the .eml as text/plain, octet-stream or even
        # "application/json": the message is still an alert.
        content_type = RAW_MESSAGE_TYPES[0]
    if content_type in RAW_MESSAGE_TYPES:
        if source_kind not in RAW_MESSAGE_KINDS:
            raise UnsupportedFormat(f"A {content_type} body is read only by e-mail sources; this source's "
                                    f"adapter ({source_kind}) takes application/json.")
        if not body.strip():
            raise InvalidInput("Request body is empty.")
        return body
    return parse_json(request, body)


_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{0,76}:[ \t]?\S")


def looks_like_message(body: bytes) -> bool:
    """An RFC 822 message starts with header lines (or an mbox "From " line), never with JSON."""
    head = body.lstrip()[:2000]
    if head[:1] in (b"{", b"["):
        return False
    lines = head.splitlines()[:5]
    headers = [line for line in lines if _HEADER_LINE.match(line) or line.startswith(b"From ")]
    return len(headers) >= 2 or bool(lines and lines[0].startswith(b"From "))


def parse_json(request: Request, body: bytes) -> Any:
    if not body.strip():
        raise InvalidInput("Request body is empty.")
    content_type = content_type_of(request)
    if content_type not in ("application/json", "text/json") and not content_type.endswith("+json"):
        raise UnsupportedFormat("Content-Type must be application/json (or message/rfc822 for "
                                "e-mail sources).")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("Request body is not valid UTF-8.")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidInput(f"JSON is nested deeper than {settings.SOAR_MAX_JSON_DEPTH} levels.")
    except ValueError as exc:
        raise InvalidInput(f"Invalid JSON: {str(exc)[:200]}")
    check_json(data, settings.SOAR_MAX_JSON_DEPTH, body)
    return data


def check_json(data: Any, max_depth: int, body: bytes | None = None) -> None:
    problem = json_problem(data, max_depth, body)
    if problem:
        raise InvalidInput(problem)
