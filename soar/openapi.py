"""OpenAPI post-processing (drf-spectacular): every operation documents the error answers that
the project's authentication, throttles, middleware and exception handler can give, so that
the schema matches the responses (checked by tests/integration/test_schemathesis.py)."""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"
# DRF's error bodies: {"detail": "..."} or {"field": ["message", ...]}, or a list of messages
# for a ValidationError raised with a plain message.
ERROR_SCHEMA = {
    "oneOf": [
        {"type": "object", "properties": {"detail": {"type": "string"}}, "additionalProperties": True},
        {"type": "array", "items": {"type": "string"}},
    ],
    "description": "An error: `detail`, or field errors keyed by field name.",
}

ALWAYS = {
    "400": "Invalid request (bad parameters or body).",
    "401": "No or invalid credentials (an expired API token included).",
    "403": "Authenticated, but not allowed.",
    # Lists: a page past the end; actions: an object named in the body that does not exist.
    "404": "No such object (or page), or not visible to this user.",
    "429": "Throttled; see Retry-After.",
    "503": "Database unavailable; retry later (see Retry-After).",
}
WITH_BODY = {
    "409": "The object's state does not allow this change.",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: adds the standard error responses to every operation
    (never replacing a response an endpoint declares itself)."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            wanted = dict(ALWAYS)
            if "requestBody" in operation or method.lower() in ("post", "put", "patch", "delete"):
                wanted.update(WITH_BODY)
            for status, description in wanted.items():
                operation["responses"].setdefault(status, {"description": description, "content": content})
    return result
