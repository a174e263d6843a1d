"""IMAP mailbox (the "report phishing" mailbox): each message of a folder, raw RFC 822, to the
source's adapter (``email``: it unwraps a user's report and hashes the attachments), then
flagged or moved on the server once its alert is committed.

Endpoint ``imaps://host[:993]`` (TLS from the first byte) or ``imap://host[:143]`` (STARTTLS,
required before the log-in). The certificate is always verified (``ca_file`` for a private CA);
``tls: "none"`` (no encryption at all) is refused unless ``SOAR_CONNECTOR_IMAP_ALLOW_PLAIN`` is
set (a loopback test server). Log-in: ``username`` and the secret (an app password).

A run: SELECT ``folder``; UID SEARCH the messages not yet processed (``after: "flag"``: without
``keyword``; ``after: "move"``: every undeleted message, the processed ones have left); fetch
the oldest ``page_size`` of them with BODY.PEEK[] (never sets \\Seen by itself), at most
``max_message_bytes`` each. The connection stays open until the page's alerts are committed,
then ``acknowledge`` sets ``\\Seen`` and ``keyword`` (flag) or moves them to ``move_to``
(UID MOVE; else COPY + \\Deleted + UID EXPUNGE). A crash between the commit and the flag or
move re-reads the messages at the next run: the alert's key is the Message-ID (``ref:``),
else a digest of the message, so a re-read message is a re-send, never a second alert."""

from __future__ import annotations

import hashlib
import imaplib
import re
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

from connectors.fetchers.base import FetchError, Page
from enrichment.ssrf import SSRFError, check_address, check_host

if TYPE_CHECKING:
    from connectors.models import PullConnector

DEFAULTS: dict[str, Any] = {"folder": "INBOX", "tls": "", "ca_file": "", "after": "flag",
                            "keyword": "$SoarProcessed", "move_to": "", "max_message_bytes": 10_000_000}
TLS_MODES = ("tls", "starttls", "none")
SCHEMES = {"imaps": ("tls", 993), "imap": ("starttls", 143)}
MAX_MESSAGE_BYTES = 50_000_000
# An IMAP atom (RFC 3501 flag-keyword), and a folder name sent as a quoted string: printable
# ASCII without the quote and backslash (non-ASCII names need modified UTF-7: not supported).
_KEYWORD = re.compile(r"^\$?[A-Za-z0-9_.-]{1,64}$")
_FOLDER = re.compile(r'^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,200}$')
_UID = re.compile(rb"\bUID (\d+)")


def options_for(connector: PullConnector) -> dict[str, Any]:
    return {**DEFAULTS, **(connector.options or {})}


def validate(query: str, options: dict[str, Any]) -> dict[str, str]:
    merged = {**DEFAULTS, **options}
    errors = {}
    problems = []
    if query.strip():
        errors["query"] = "Not used by the IMAP mailbox (leave it empty): options.folder selects the messages."
    if not isinstance(merged["folder"], str) or not _FOLDER.match(merged["folder"]):
        problems.append("folder: a folder name in printable ASCII, without quotes or backslashes")
    if merged["tls"] not in ("", *TLS_MODES):
        problems.append("tls: one of tls, starttls, none")
    elif merged["tls"] == "none" and not getattr(settings, "SOAR_CONNECTOR_IMAP_ALLOW_PLAIN", False):
        problems.append("tls: none (no encryption) is refused: the app password would cross the network in clear")
    if merged["after"] not in ("flag", "move"):
        problems.append("after: flag or move")
    if not isinstance(merged["keyword"], str) or not _KEYWORD.match(merged["keyword"]):
        problems.append("keyword: an IMAP keyword (letters, digits, _ . -, optionally starting with $)")
    if merged["after"] == "move" and (not isinstance(merged["move_to"], str) or not _FOLDER.match(merged["move_to"])
                                      or merged["move_to"] == merged["folder"]):
        problems.append("move_to: the folder processed messages go to (not the polled folder)")
    if not isinstance(merged["ca_file"], str):
        problems.append("ca_file: a path to a PEM file")
    size = merged["max_message_bytes"]
    if not isinstance(size, int) or isinstance(size, bool) or not 1000 <= size <= MAX_MESSAGE_BYTES:
        problems.append(f"max_message_bytes: between 1000 and {MAX_MESSAGE_BYTES}")
    if problems:
        errors["options"] = "; ".join(problems) + "."
    return errors


def endpoint_problem(endpoint: str) -> str:
    """Why an IMAP endpoint cannot be used ("" when it can)."""
    try:
        parts = urlsplit(endpoint.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        return "imaps://host[:993] (TLS) or imap://host[:143] (STARTTLS)."
    if parts.username or parts.password or parts.path.strip("/") or parts.query:
        return "Only the scheme, host and port: the user and app password have their own fields."
    return ""


class _GuardedIMAP4(imaplib.IMAP4):
    """IMAP4 whose socket is refused when the address it reached is not allowed (SSRF guard
    after the DNS answer, like enrichment.ssrf.guarded_session). ``_create_socket`` is
    imaplib's own hook (since 3.9), missing from typeshed."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = super()._create_socket(timeout)  # type: ignore[misc]
        _check_peer(self.host, sock)
        return sock


class _GuardedIMAP4SSL(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = imaplib.IMAP4._create_socket(self, timeout)  # type: ignore[attr-defined]
        _check_peer(self.host, sock)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _check_peer(host: str, sock: socket.socket) -> None:
    try:
        check_address(host, sock.getpeername()[0])
    except SSRFError:
        sock.close()
        raise


def _tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options["ca_file"] or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    return value.decode("utf-8", "replace")[:300] if isinstance(value, bytes) else str(value)[:300]


class Mailbox:
    """One logged-in, folder-selected IMAP session of a run."""

    def __init__(self, connector: PullConnector, options: dict[str, Any]):
        self.connector = connector
        self.options = options
        self.name = connector.name
        self.client: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()

    def fail(self, what: str, exc: BaseException | None = None) -> FetchError:
        detail = f" ({exc.__class__.__name__}: {_text(str(exc))})" if exc is not None else ""
        return FetchError(f"{self.name}: {what}{detail}")

    def open(self) -> None:
        parts = urlsplit(self.connector.endpoint.strip())
        scheme_tls, default_port = SCHEMES[parts.scheme.lower()]
        tls = self.options["tls"] or scheme_tls
        host, port = parts.hostname or "", parts.port or default_port
        if tls == "none" and not getattr(settings, "SOAR_CONNECTOR_IMAP_ALLOW_PLAIN", False):
            raise self.fail("tls: none is refused (SOAR_CONNECTOR_IMAP_ALLOW_PLAIN is off)")
        if not self.connector.username:
            raise self.fail("no username: IMAP logs in with the mailbox's user and app password")
        timeout = self.connector.timeout_seconds
        try:
            check_host(host, port)
            if tls == "tls":
                self.client = _GuardedIMAP4SSL(host, port, ssl_context=_tls_context(self.options), timeout=timeout)
            else:
                self.client = _GuardedIMAP4(host, port, timeout=timeout)
                if tls == "starttls":
                    self.client.starttls(_tls_context(self.options))
        except SSRFError as exc:
            raise FetchError(f"{self.name}: {exc}")
        except ssl.SSLCertVerificationError as exc:
            raise FetchError(f"{self.name}: the server's certificate is not trusted ({exc.verify_message}); "
                             "set options.ca_file for a private CA")
        except TimeoutError as exc:
            raise self.fail(f"no answer within {timeout:g}s", exc)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self.fail("connection failed", exc)
        try:
            self.client.login(self.connector.username, self.connector.secret)
        except imaplib.IMAP4.error as exc:
            raise FetchError(f"{self.name}: authentication refused; check the user and app password "
                             f"({_text(str(exc))})")
        except OSError as exc:
            raise self.fail("connection lost at log-in", exc)
        # The capabilities after the log-in (MOVE, UIDPLUS): a server announces fewer before it.
        data = self._command("CAPABILITY", lambda c: c.capability())
        self.capabilities = set(b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
                                .upper().split())
        self._command("SELECT", lambda c: c.select(_quoted(self.options["folder"])))

    def _command(self, what: str, call: Any) -> Any:
        assert self.client is not None  # noqa: S101 - open() ran
        try:
            status, data = call(self.client)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self.fail(f"{what} failed", exc)
        if status != "OK":
            raise self.fail(f"{what} refused: {_text(data)}")
        return data

    def pending_uids(self) -> list[int]:
        criteria: tuple[str, ...] = ("UNDELETED",)
        if self.options["after"] == "flag":
            criteria = ("UNKEYWORD", self.options["keyword"])
        data = self._command("UID SEARCH", lambda c: c.uid("SEARCH", *criteria))
        words = b" ".join(d for d in data if isinstance(d, bytes)).split()
        return sorted(int(w) for w in words if w.isdigit())

    def fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        limit = int(self.options["max_message_bytes"])
        data = self._command("UID FETCH", lambda c: c.uid("FETCH", _uid_set(uids), f"(UID BODY.PEEK[]<0.{limit}>)"))
        messages = []
        for index, item in enumerate(data):
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes)):
                continue
            # "* 3 FETCH (UID 7 BODY[]<0> {n}" or, on some servers, the UID after the literal: ... " UID 7)".
            after = data[index + 1] if index + 1 < len(data) and isinstance(data[index + 1], bytes) else b""
            match = _UID.search(item[0]) or _UID.search(after)
            if match:
                messages.append((int(match.group(1)), item[1]))
        return sorted(messages)

    def acknowledge(self, uids: list[int]) -> None:
        """Mark the messages processed (after their alerts are committed)."""
        if not uids:
            return
        uid_set = _uid_set(uids)
        if self.options["after"] == "flag":
            flags = f"(\\Seen {self.options['keyword']})"
            self._command("UID STORE", lambda c: c.uid("STORE", uid_set, "+FLAGS.SILENT", flags))
            return
        target = _quoted(self.options["move_to"])
        if "MOVE" in self.capabilities:
            self._command("UID MOVE", lambda c: c.uid("MOVE", uid_set, target))
            return
        self._command("UID COPY", lambda c: c.uid("COPY", uid_set, target))
        self._command("UID STORE", lambda c: c.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)"))
        if "UIDPLUS" in self.capabilities:
            self._command("UID EXPUNGE", lambda c: c.uid("EXPUNGE", uid_set))
        # Without UIDPLUS the copies stay flagged \Deleted (skipped by the search) for the
        # mailbox's own expunge: a plain EXPUNGE would also remove messages someone else deleted.

    def close(self) -> None:
        if self.client is None:
            return
        client, self.client = self.client, None
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            try:
                client.shutdown()
            except OSError:
                pass


def _quoted(name: str) -> str:
    return f'"{name}"'  # validated: no quote, no backslash (_FOLDER)


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def message_key(raw: bytes) -> str:
    """The record key of a message without a Message-ID: a digest of its bytes (the same after a
    re-read, in whichever folder)."""
    return "imap:" + hashlib.sha256(raw).hexdigest()[:40]


def fetch(connector: PullConnector, cursor: dict[str, Any]) -> Page:
    options = options_for(connector)
    mailbox = Mailbox(connector, options)
    try:
        mailbox.open()
        pending = mailbox.pending_uids()
        batch = pending[: connector.page_size]
        messages = mailbox.fetch(batch) if batch else []
    except BaseException:
        mailbox.close()
        raise
    uids = [uid for uid, _ in messages]
    return Page(
        records=[(message_key(raw), raw) for _, raw in messages],
        cursor=dict(cursor),
        more=len(pending) > len(batch),
        acknowledge=lambda: mailbox.acknowledge(uids),
        release=mailbox.close,
    )
