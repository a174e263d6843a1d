"""Raw RFC 822 / MIME messages (``.eml``, ``message/rfc822``) read with the standard library's
``email`` package, into the fields the e-mail adapter maps. Not an adapter itself.

Messages are hostile input: every header read is guarded (a malformed header is skipped,
never an exception), parts and attachments are bounded, and a user's report that wraps the
suspicious message (``message/rfc822`` attachment, or an attached ``.eml``) is unwrapped so the
original is what gets analysed, with the reporter recorded."""

from __future__ import annotations

import hashlib
import html
import ipaddress
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

MAX_PARTS = 200
MAX_ATTACHMENTS = 50
MAX_TEXT = 200_000
_HREF = re.compile(r"""(?:href|src|action)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
_BRACKETED_IP = re.compile(r"[\[(]((?:\d{1,3}\.){3}\d{1,3}|IPv6:[0-9a-fA-F:]+|[0-9a-fA-F:]{3,})[\])]")
_AUTH_VERDICT = re.compile(r"\b(spf|dkim|dmarc|arc)\s*=\s*([a-z]+)", re.IGNORECASE)


@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    sha1: str
    md5: str


@dataclass
class ParsedMessage:
    headers: dict[str, str] = field(default_factory=dict)
    received: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    reporter: str = ""
    warnings: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def urls_text(self) -> str:
        """Text to look for URLs in: the plain part, and the HTML part's links with entities decoded."""
        links = " ".join(html.unescape(link) for link in _HREF.findall(self.html[:MAX_TEXT]))
        return "\n".join((self.text[:MAX_TEXT], links, html.unescape(_TAG.sub(" ", self.html[:MAX_TEXT]))))

    def body_excerpt(self, limit: int) -> str:
        if self.text.strip():
            return self.text[:limit]
        return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", self.html[: limit * 4])))[:limit]

    def originating_ip(self) -> str:
        """The sender's address as the receiving side recorded it: X-Originating-IP /
        X-Sender-IP (added by the receiving mail service, so not forgeable by the sender),
        else the first public address of the Received chain read from the oldest hop (the
        bottom header) up."""
        for name in ("x-originating-ip", "x-sender-ip", "x-mailgun-sending-ip"):
            ip = _public_ip(self.header(name).strip("[] "))
            if ip:
                return ip
        for hop in reversed(self.received):
            for candidate in _BRACKETED_IP.findall(hop):
                ip = _public_ip(candidate.removeprefix("IPv6:"))
                if ip:
                    return ip
        return ""

    def auth_results(self) -> dict[str, str]:
        """spf/dkim/dmarc/arc verdicts from Authentication-Results (the first header: the one
        the receiving domain added last), e.g. {"spf": "pass", "dmarc": "fail"}."""
        verdicts: dict[str, str] = {}
        for mechanism, verdict in _AUTH_VERDICT.findall(self.header("authentication-results")[:4000]):
            verdicts.setdefault(mechanism.lower(), verdict.lower())
        return verdicts


def _public_ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    return str(address) if address.is_global else ""


def parse_message(data: bytes) -> ParsedMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    parsed = _read(message)
    inner = _wrapped_original(message)
    if inner is not None:
        original = _read(inner)
        original.reporter = parsed.header("from")
        original.warnings = parsed.warnings + original.warnings
        return original
    return parsed


def _read(message: Message) -> ParsedMessage:
    parsed = ParsedMessage()
    for name in ("from", "to", "cc", "reply-to", "return-path", "subject", "message-id", "date",
                 "authentication-results", "x-originating-ip", "x-sender-ip", "x-mailgun-sending-ip",
                 "x-mailer", "user-agent"):
        value = _header(message, name, parsed.warnings)
        if value:
            parsed.headers[name] = value
    parsed.received = [_safe_str(v) for v in (message.get_all("received") or [])[:50]]
    for index, part in enumerate(message.walk()):
        if index >= MAX_PARTS:
            parsed.warnings.append(f"Only the first {MAX_PARTS} MIME parts were read.")
            break
        if part.is_multipart():
            continue
        if part.get_content_type() == "message/rfc822" or _is_attachment(part):
            _add_attachment(parsed, part)
        elif part.get_content_type() == "text/plain" and not parsed.text:
            parsed.text = _content(part, parsed.warnings)
        elif part.get_content_type() == "text/html" and not parsed.html:
            parsed.html = _content(part, parsed.warnings)
    return parsed


def _wrapped_original(message: Message) -> Message | None:
    """A report that carries the suspicious message as an attachment (Outlook's "Report
    phishing", Gmail's "forward as attachment")."""
    for index, part in enumerate(message.walk()):
        if index >= MAX_PARTS:
            break
        if part is message:
            continue
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        filename = (_safe_call(part.get_filename) or "").lower()
        if filename.endswith(".eml"):
            raw = _safe_call(lambda part=part: part.get_payload(decode=True))
            if isinstance(raw, bytes) and raw:
                return BytesParser(policy=policy.default).parsebytes(raw)
    return None


def _is_attachment(part: Message) -> bool:
    disposition = (_safe_call(part.get_content_disposition) or "").lower()
    return disposition == "attachment" or bool(_safe_call(part.get_filename))


def _add_attachment(parsed: ParsedMessage, part: Message) -> None:
    if len(parsed.attachments) >= MAX_ATTACHMENTS:
        return
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner and isinstance(inner[0], Message) else b""
    else:
        data = _safe_call(lambda: part.get_payload(decode=True)) or b""
    if not isinstance(data, bytes):
        data = b""
    parsed.attachments.append(Attachment(
        filename=(_safe_call(part.get_filename) or "")[:255],
        content_type=part.get_content_type()[:100],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
    ))


def _content(part: Message, warnings: list[str]) -> str:
    try:
        if isinstance(part, EmailMessage):
            text = part.get_content()
            if isinstance(text, str):
                return text[:MAX_TEXT]
    except (LookupError, ValueError, UnicodeError, AssertionError) as exc:
        warnings.append(f"A {part.get_content_type()} part could not be decoded ({exc.__class__.__name__}); "
                        "read as Latin-1.")
    raw = _safe_call(lambda: part.get_payload(decode=True)) or b""
    return raw.decode("latin-1")[:MAX_TEXT] if isinstance(raw, bytes) else ""


def _header(message: Message, name: str, warnings: list[str]) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        warnings.append(f"Header {name} is malformed ({exc.__class__.__name__}); skipped.")
        return ""
    return _safe_str(value) if value is not None else ""


def _safe_str(value: Any) -> str:
    try:
        return str(value)[:4000].replace("\x00", "")
    except (ValueError, TypeError, IndexError, AttributeError):
        return ""


def _safe_call(fn: Any) -> Any:
    try:
        return fn()
    except (ValueError, TypeError, IndexError, AttributeError, LookupError, AssertionError):
        return None
