"""E-mail reports: a message parsed by an upstream mail parser, or a user-reported phish.

    {
      "message_id": "<abc@mail.example.com>",         -> source_ref
      "from": "Payroll <payroll@example.test>",        -> entity (required, the sender address)
      "to": ["alice@example.com"], "subject": "...",   -> title "Reported e-mail: <subject>"
      "body": "plain text ...",
      "received_at": "2026-11-25T10:00:00Z",           -> occurred_at
      "urls": ["https://..."],                         optional; else URLs found in body
      "attachments": [{"filename", "sha256", "md5", "sha1", "size"}],
      "headers": {"Reply-To": "...", "Return-Path": "...", "X-Originating-IP": "..."},
      "reporter": "alice@example.com",                 set for user-reported mail
      "severity": "medium"                             optional (default medium)
    }

Observables: sender address and domain, Reply-To/Return-Path addresses, X-Originating-IP,
URLs with their hosts, attachment hashes. Category "phishing" when reported by a user.

Raw messages: a body sent as ``Content-Type: message/rfc822`` (an ``.eml`` file), or JSON
``{"raw_message": "<the message text>"}``, is parsed with the standard library (see
``_rfc822``): From / Reply-To / Return-Path / Subject / Message-ID / Date headers, the
originating IP from the oldest public hop of the Received chain (else X-Originating-IP), the
spf/dkim/dmarc verdicts of Authentication-Results, URLs from the text and HTML parts (links'
HTML entities decoded), attachment names with SHA-256/SHA-1/MD5. A user's report wrapping the
suspicious message as an attachment is unwrapped; the wrapper's sender is the reporter.
Severity of a raw message: high when DMARC says "fail" (the From domain's owner disowns it),
else medium (an SPF failure alone is common for forwarded mail). Without a readable
From address the alert is still made (entity: the originating IP or the first URL), with a warning.
"""

from __future__ import annotations

import email.utils
from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    Errors,
    as_list,
    first,
    pairs_observables,
    scalar,
    severity_or_warn,
    timestamp_or_warn,
    url_observables,
)
from alerts.adapters._rfc822 import ParsedMessage, parse_message
from alerts.normalization import NormalizationError, NormalizedAlert, extract_observables, try_observable

BODY_EXCERPT = 4000


def _address(value: Any) -> str:
    # parseaddr copes with display names and angle brackets; bound input (it is a parser).
    return email.utils.parseaddr(scalar(value, 1000))[1]


def _header(headers: dict, name: str) -> Any:
    # Header names are case-insensitive and parsers differ in how they spell them.
    for key, value in list(headers.items())[:500]:
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


@register
class EmailAdapter(Adapter):
    kind = "email"
    label = "E-mail report"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        if isinstance(payload, (bytes, bytearray)):
            return [parse_raw(bytes(payload))]
        if isinstance(payload, dict) and isinstance(payload.get("raw_message"), str):
            return [parse_raw(payload["raw_message"].encode("utf-8", "surrogateescape"))]
        data = self.require_object(payload)
        errors = Errors()
        sender = try_observable("email", _address(data.get("from")))
        warnings: list[str] = []
        sev = severity_or_warn(data.get("severity"), "severity", warnings)
        when = timestamp_or_warn(data.get("received_at"), "received_at", warnings)
        for name in ("to", "urls", "attachments"):
            if data.get(name) is not None and not isinstance(data.get(name), list):
                errors.add(name, "Must be a list.")
        if data.get("headers") is not None and not isinstance(data.get("headers"), dict):
            errors.add("headers", "Must be an object.")
        if sender is None:
            errors.refuse("from", "Required: the sender's e-mail address.")
        errors.raise_if_any()

        subject = first(data.get("subject"), limit=450) or "(no subject)"
        body = first(data.get("body"), limit=100_000)
        headers = data.get("headers") or {}
        if data.get("urls") is not None:
            urls = as_list(data.get("urls"))
        else:
            urls = [o.value for o in extract_observables(body) if o.type == "url"]
        attachments = [a for a in as_list(data.get("attachments"))[:50] if isinstance(a, dict)]
        observables = [sender] + pairs_observables([
            ("domain", sender.value.rsplit("@", 1)[1]),
            ("email", _address(_header(headers, "reply-to"))),
            ("email", _address(_header(headers, "return-path"))),
            ("ip", scalar(_header(headers, "x-originating-ip"), 64).strip("[]")),
        ] + [(
            "hash", a.get(algo)) for a in attachments for algo in ("sha256", "sha1", "md5")
        ]) + url_observables(urls[:100])

        reporter = first(data.get("reporter"), limit=300)
        recipients = ", ".join(filter(None, (scalar(t, 300) for t in as_list(data.get("to"))[:20])))
        files = "\n".join(
            f"- {first(a.get('filename'), limit=255) or '(unnamed)'} ({first(a.get('size'), limit=20) or '?'} bytes)"
            for a in attachments
        )
        description = "\n".join(filter(None, (
            f"From: {first(data.get('from'), limit=1000)}",
            f"To: {recipients}" if recipients else "",
            f"Reported by: {reporter}" if reporter else "",
            f"Attachments:\n{files}" if files else "",
        ))) + "\n\n" + body[:BODY_EXCERPT]
        return [NormalizedAlert(
            title=f"Reported e-mail: {subject}",
            severity=sev,
            severity_raw=scalar(data.get("severity"), 64),
            source_ref=first(data.get("message_id"), limit=255),
            description=description,
            category="phishing" if reporter else "email",
            entity_type=sender.type,
            entity_value=sender.value,
            observables=observables,
            occurred_at=when,
            raw=payload,
            warnings=warnings,
        )]


MAX_RAW_KEPT = 1_000_000
FAILED_AUTH = ("fail", "permerror")


def parse_raw(data: bytes) -> NormalizedAlert:
    if not data.strip():
        raise NormalizationError("The message is empty.")
    message = parse_message(data)
    warnings = list(message.warnings)
    sender = try_observable("email", _address(message.header("from")))
    if sender is None:
        warnings.append("From: no readable sender address.")
    when = timestamp_or_warn(message.header("date") or None, "Date", warnings)
    urls = [o.value for o in extract_observables(message.urls_text()) if o.type == "url"]
    origin = message.originating_ip()
    observables = ([sender] if sender else []) + pairs_observables([
        ("domain", sender.value.rsplit("@", 1)[1] if sender else ""),
        ("email", _address(message.header("reply-to"))),
        ("email", _address(message.header("return-path"))),
        ("ip", origin),
    ] + [("hash", digest) for a in message.attachments for digest in (a.sha256, a.sha1, a.md5)]
    ) + url_observables(urls[:100])
    verdicts = message.auth_results()
    failed = [name for name in ("dmarc",) if verdicts.get(name) in FAILED_AUTH]
    entity = sender or next(iter(observables), None)
    subject = message.header("subject")[:450] or "(no subject)"
    return NormalizedAlert(
        title=f"Reported e-mail: {subject}" if message.reporter else f"E-mail: {subject}",
        severity="high" if failed else "medium",
        severity_raw=f"{', '.join(failed)} fail" if failed else "",
        source_ref=message.header("message-id")[:255],
        description=_raw_description(message, origin, verdicts),
        category="phishing" if message.reporter else "email",
        entity_type=entity.type if entity else "",
        entity_value=entity.value if entity else "",
        observables=observables,
        occurred_at=when,
        raw=_raw_record(message, data),
        warnings=warnings,
    )


def _raw_description(message: ParsedMessage, origin: str, verdicts: dict[str, str]) -> str:
    files = "\n".join(f"- {a.filename or '(unnamed)'} ({a.content_type}, {a.size} bytes, sha256 {a.sha256})"
                      for a in message.attachments)
    lines = [
        f"From: {message.header('from')}",
        f"To: {message.header('to')}" if message.header("to") else "",
        f"Reply-To: {message.header('reply-to')}" if message.header("reply-to") else "",
        f"Return-Path: {message.header('return-path')}" if message.header("return-path") else "",
        f"Reported by: {message.reporter}" if message.reporter else "",
        f"Originating IP: {origin}" if origin else "",
        "Authentication: " + ", ".join(f"{k}={v}" for k, v in verdicts.items()) if verdicts else "",
        f"Attachments:\n{files}" if files else "",
    ]
    return "\n".join(filter(None, lines)) + "\n\n" + message.body_excerpt(BODY_EXCERPT)


def _raw_record(message: ParsedMessage, data: bytes) -> dict:
    """What is kept of the message: its headers, attachment facts and (bounded) source."""
    return {
        "headers": message.headers,
        "received": message.received,
        "reporter": message.reporter,
        "attachments": [vars(a) for a in message.attachments],
        "rfc822": data[:MAX_RAW_KEPT].decode("utf-8", "replace").replace("\x00", ""),
    }
