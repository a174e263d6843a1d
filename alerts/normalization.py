"""The one alert schema every adapter produces, and the helpers adapters share.

Pure Python (no Django imports) so adapters and their property tests run without a
database. Anything an adapter cannot make sense of raises ``NormalizationError`` with
field errors, an ``InvalidInput`` (soar/errors.py).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import ipaddress
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from attack.ids import technique_ids
from cases.vocabulary import SEVERITIES, SEVERITY_RANK  # the one severity scale
from soar.errors import InvalidInput

ENTITY_TYPES = ("ip", "domain", "url", "hostname", "user", "email", "hash", "process")
ENTITY_TYPE_CHOICES = [(t, t) for t in ENTITY_TYPES]

MAX_TITLE = 500
MAX_DESCRIPTION = 20_000
MAX_ENTITY_VALUE = 2048
MAX_OBSERVABLES = 200
MAX_WARNINGS = 20
MAX_WARNING = 300
# Timestamps outside this range are typos or attacks, not real events.
EARLIEST_OCCURRED = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
MAX_CLOCK_SKEW = dt.timedelta(days=1)


class NormalizationError(InvalidInput, ValueError):
    """Input that cannot become a normalized alert. ``errors`` maps field -> messages (also the
    body of the refusal). A ValueError too: callers that validate a value catch that."""

    code = "invalid_alert"
    errors: dict[str, list[str]]

    def __init__(self, errors: dict[str, list[str]] | str):
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors=errors)
        self.errors = errors


@dataclass(frozen=True)
class Observable:
    type: str
    value: str

    def key(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass
class NormalizedAlert:
    title: str
    severity: str
    source_ref: str = ""
    description: str = ""
    severity_raw: str = ""
    confidence: int = 50
    category: str = ""
    entity_type: str = ""
    entity_value: str = ""
    observables: list[Observable] = field(default_factory=list)
    occurred_at: dt.datetime | None = None
    raw: Any = None
    fingerprint: str = ""
    # Optional fields the sender got wrong: the alert is kept with a fallback, and each
    # fallback is recorded here (shown on the alert in the UI and API).
    warnings: list[str] = field(default_factory=list)
    # The sender says the condition is over (Alertmanager/Grafana "resolved"): the alert
    # with the same source_ref is marked resolved instead of a new alert being stored.
    resolved: bool = False
    # MITRE ATT&CK technique ids the tool sent (T1059, T1059.001): cleaned by finalize; linked to
    # the catalogue when the alert is processed (alerts.attack_mapping).
    attack_ids: list[str] = field(default_factory=list)

    def finalize(self) -> NormalizedAlert:
        """Validate, clean and complete the alert; returns self. Raises NormalizationError."""
        errors: dict[str, list[str]] = {}
        self.title = clean_text(self.title, MAX_TITLE)
        if not self.title:
            errors.setdefault("title", []).append("This field is required.")
        self.description = clean_text(self.description, MAX_DESCRIPTION)
        self.category = clean_text(self.category, 100)
        self.source_ref = clean_text(self.source_ref, 255)
        self.severity_raw = clean_text(str(self.severity_raw or self.severity or ""), 64)
        if self.severity not in SEVERITY_RANK:
            errors.setdefault("severity", []).append(
                f"Must be one of {', '.join(SEVERITIES)}; got {shown(self.severity)}."
            )
        if isinstance(self.confidence, bool) or not isinstance(self.confidence, int) or not 0 <= self.confidence <= 100:
            errors.setdefault("confidence", []).append("Must be an integer from 0 to 100.")
        if self.entity_type or self.entity_value:
            try:
                primary = make_observable(self.entity_type, self.entity_value)
                self.entity_type, self.entity_value = primary.type, primary.value
            except NormalizationError as exc:
                for key, msgs in exc.errors.items():
                    errors.setdefault(f"entity.{key}", []).extend(msgs)
        if self.occurred_at is not None:
            try:
                check_timestamp(self.occurred_at)
            except NormalizationError as exc:
                errors.setdefault("occurred_at", []).extend(exc.errors["non_field_errors"])
        if errors:
            raise NormalizationError(errors)

        unique: dict[str, Observable] = {}
        if self.entity_value:
            primary = Observable(self.entity_type, self.entity_value)
            unique[primary.key()] = primary
        for obs in self.observables:
            if len(unique) >= MAX_OBSERVABLES:
                break
            unique.setdefault(obs.key(), obs)
        self.observables = list(unique.values())
        if not self.entity_value and self.observables:
            first = self.observables[0]
            self.entity_type, self.entity_value = first.type, first.value
        self.attack_ids = technique_ids(self.attack_ids)
        self.warnings = [clean_text(w, MAX_WARNING) for w in self.warnings[:MAX_WARNINGS] if w]
        self.fingerprint = clean_text(self.fingerprint, 128)
        if not self.fingerprint:
            self.fingerprint = compute_fingerprint(self.title, self.entity_type, self.entity_value)
        return self


def compute_fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(p.lower() for p in parts).encode()).hexdigest()


def shown(value: Any, limit: int = 64) -> str:
    """A short, always-printable rendering of a bad value for error messages."""
    if isinstance(value, str):
        return repr(value[:limit])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number" if isinstance(value, int) and abs(value) >= 10**18 else repr(value)
    return f"a {type(value).__name__}"


def clean_text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        raise NormalizationError("Number is too large for a text field.")
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        raise NormalizationError("Text must not contain NUL bytes.")
    return value.strip()[:limit]


# --- severity -------------------------------------------------------------------------

_SEVERITY_WORDS = {
    "informational": "info", "information": "info", "info": "info", "debug": "info", "notice": "info",
    "none": "info", "unknown": "info",
    "low": "low", "minor": "low", "warning": "low", "warn": "low",
    "medium": "medium", "moderate": "medium", "major": "medium", "error": "medium", "page": "high",
    "high": "high", "severe": "high", "important": "high",
    "critical": "critical", "crit": "critical", "fatal": "critical", "emergency": "critical",
    "alert": "high", "urgent": "critical",
}


def map_severity(value: Any, *, scale: tuple[int, int, int, int] | None = None) -> str:
    """Map a source's severity (word or number) onto our five levels.

    ``scale`` gives the lower bounds of low/medium/high/critical for numeric values,
    e.g. Elastic's 0-100 risk uses (21, 47, 73, 99). Unknown words raise.
    """
    if isinstance(value, bool):
        raise NormalizationError({"severity": ["Must be a level name or a number."]})
    if isinstance(value, (int, float)):
        bounds = scale or (1, 2, 3, 4)
        if isinstance(value, float) and not math.isfinite(value):
            raise NormalizationError({"severity": ["Must be a finite number."]})
        if value < 0 or value > 10_000:
            raise NormalizationError({"severity": ["Number is out of range (0 to 10000)."]})
        level = sum(1 for bound in bounds if value >= bound)
        return SEVERITIES[level]
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _SEVERITY_WORDS:
            return _SEVERITY_WORDS[word]
        if re.fullmatch(r"\d{1,5}(\.\d+)?", word):
            return map_severity(float(word), scale=scale)
    raise NormalizationError({"severity": [f"Unknown severity {shown(value)}."]})


# --- timestamps -----------------------------------------------------------------------

def parse_timestamp(value: Any, field_name: str = "occurred_at") -> dt.datetime | None:
    """ISO 8601 text or epoch seconds/milliseconds -> aware UTC datetime (None for empty)."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError("not a timestamp")
        if isinstance(value, (int, float)):
            if isinstance(value, int) and abs(value) > 10**15 or not math.isfinite(value):
                raise ValueError("number out of range")
            seconds = value / 1000 if abs(value) > 1e11 else value
            when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        elif isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
                return parse_timestamp(float(text), field_name)
            when = _parse_text_timestamp(text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            when = when.astimezone(dt.UTC)
        else:
            raise ValueError("unsupported type")
    except (ValueError, OverflowError, OSError) as exc:
        raise NormalizationError({field_name: [f"Not a valid timestamp: {shown(value)} ({str(exc)[:100]})."]})
    try:
        check_timestamp(when)
    except NormalizationError as exc:
        raise NormalizationError({field_name: exc.errors["non_field_errors"]})
    return when


# Formats real senders use besides ISO 8601, tried in order (naive ones are taken as UTC).
_LEGACY_FORMATS = (
    "%Y %b %d %H:%M:%S",      # OSSEC / Wazuh 3.x alerts.log: "2017 Feb 07 15:57:53"
    "%b %d %Y %H:%M:%S",      # OSSEC variant: "Feb 07 2017 15:57:53"
    "%m/%d/%Y-%H:%M:%S.%f",   # Suricata fast.log: "03/13/2017-10:00:00.123456"
    "%m/%d/%Y %H:%M:%S",      # Splunk's default _time rendering without a zone
)


def _parse_text_timestamp(text: str) -> dt.datetime:
    """ISO 8601 (with Z, +0000, Go's " +0000 UTC" and nanoseconds), RFC 2822 (mail Date
    headers) and the legacy formats above. Raises ValueError."""
    iso = text.removesuffix(" UTC").strip()
    if iso.endswith(("Z", "z")):
        iso = iso[:-1] + "+00:00"
    # Suricata/Wazuh write +0000 without a colon; Go writes "2019-03-07 10:44:58.4709 +0000".
    iso = re.sub(r"\s*([+-]\d{2}):?(\d{2})$", r"\1:\2", iso)
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        pass
    if "," in text or re.search(r"[A-Za-z]{3},? \d", text):
        try:
            return email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
    for fmt in _LEGACY_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError("not ISO 8601, RFC 2822 or a known log format")


def check_timestamp(when: dt.datetime) -> None:
    if when.tzinfo is None:
        raise NormalizationError("Timestamp must carry a time zone.")
    now = dt.datetime.now(dt.UTC)
    if when < EARLIEST_OCCURRED or when > now + MAX_CLOCK_SKEW:
        raise NormalizationError(
            f"Timestamp {when.isoformat()} is outside the accepted range (1990 to now + 1 day)."
        )


# --- observables ----------------------------------------------------------------------

_HASH_LENGTHS = {32, 40, 64, 128}
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9_-]{1,63}\.)+[a-z]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_URL_IN_TEXT = re.compile(r"\bhttps?://[^\s<>\"')\]]+", re.IGNORECASE)
_IPV4_IN_TEXT = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_EMAIL_IN_TEXT = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b")
_HASH_IN_TEXT = re.compile(r"\b(?:[a-f0-9]{128}|[a-f0-9]{64}|[a-f0-9]{40}|[a-f0-9]{32})\b", re.IGNORECASE)


# Defanged indicators as analysts and feeds write them: hxxp://evil[.]com, user[at]x(.)org.
_DEFANG_SCHEMES = re.compile(r"^(h[xX]{2}p|hXXp|fxp)(s?)(\[?:\]?//|\[://\])", re.IGNORECASE)
_DEFANG_MARKS = (
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.IGNORECASE), "."),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[@\]|\[at\]|\(at\)", re.IGNORECASE), "@"),
    (re.compile(r"\[/\]"), "/"),
)
REFANGED_TYPES = ("ip", "domain", "url", "hostname", "email")


def refang(text: str) -> str:
    """The matchable form of a defanged indicator; other text is returned unchanged."""
    if "[" not in text and "(" not in text and "{" not in text and not text[:4].lower().startswith(("hxx", "fxp")):
        return text
    scheme = _DEFANG_SCHEMES.match(text)
    if scheme:
        head = "ftp" if scheme.group(1).lower() == "fxp" else "http"
        text = f"{head}{scheme.group(2)}://" + text[scheme.end():]
    for pattern, replacement in _DEFANG_MARKS:
        text = pattern.sub(replacement, text)
    return text


def defang(obs_type: str, value: str) -> str:
    """How an indicator is shown to people: not clickable, not auto-linked by mail clients."""
    if obs_type not in REFANGED_TYPES or obs_type == "hostname":
        return value
    if obs_type == "url":
        value = re.sub(r"^http", "hxxp", value, flags=re.IGNORECASE)
        scheme, sep, rest = value.partition("://")
        if sep:
            host, slash, path = rest.partition("/")
            return f"{scheme}://{host.replace('.', '[.]')}{slash}{path}"
        return value
    if obs_type == "email":
        local, _, domain = value.rpartition("@")
        return f"{local}[@]{domain.replace('.', '[.]')}"
    if obs_type == "ip" and ":" in value:
        return value.replace(":", "[:]")
    return value.replace(".", "[.]")


def observable_text(value: Any) -> str:
    """An observable's value as cleaned text: a string (or a number), not empty, not too long."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise NormalizationError({"value": ["Must be a string."]})
    text = clean_text(value, MAX_ENTITY_VALUE + 1)
    if not text:
        raise NormalizationError({"value": ["Must not be empty."]})
    if len(text) > MAX_ENTITY_VALUE:
        raise NormalizationError({"value": [f"Longer than {MAX_ENTITY_VALUE} characters."]})
    return text


def make_observable(obs_type: Any, value: Any) -> Observable:
    """Validate and canonicalize one observable (lower-cased where case is meaningless,
    defanged forms refanged, HTML entities from mail bodies decoded)."""
    if obs_type not in ENTITY_TYPES:
        raise NormalizationError({"type": [f"Must be one of {', '.join(ENTITY_TYPES)}; got {shown(obs_type)}."]})
    text = observable_text(value)
    if obs_type in REFANGED_TYPES:
        text = refang(text)
        if "&" in text:
            text = html.unescape(text)
    if obs_type == "ip":
        try:
            text = str(ipaddress.ip_address(text))
        except ValueError:
            raise NormalizationError({"value": [f"{text[:64]!r} is not an IP address."]})
    elif obs_type in ("domain", "hostname"):
        text = text.lower().rstrip(".")
        if obs_type == "domain" and not _DOMAIN_RE.match(text):
            raise NormalizationError({"value": [f"{text[:64]!r} is not a domain name."]})
    elif obs_type == "email":
        text = text.lower()
        if not _EMAIL_RE.match(text):
            raise NormalizationError({"value": [f"{text[:64]!r} is not an e-mail address."]})
    elif obs_type == "hash":
        text = text.lower()
        if len(text) not in _HASH_LENGTHS or not re.fullmatch(r"[a-f0-9]+", text):
            raise NormalizationError({"value": ["Must be an MD5, SHA-1, SHA-256 or SHA-512 hex digest."]})
    elif obs_type == "url":
        if not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
            raise NormalizationError({"value": [f"{text[:64]!r} is not a URL."]})
    elif obs_type == "user":
        text = text.lower()
    return Observable(obs_type, text)


def try_observable(obs_type: str, value: Any) -> Observable | None:
    """Like make_observable, but returns None for junk (adapters pick fields opportunistically)."""
    if value in (None, ""):
        return None
    try:
        return make_observable(obs_type, value)
    except NormalizationError:
        return None


def observables_from(pairs: Iterable[tuple[str, Any]]) -> list[Observable]:
    found = (try_observable(t, v) for t, v in pairs)
    return [obs for obs in found if obs is not None]


_FILE_SUFFIXES = frozenset(
    "exe dll sys bat cmd ps1 psm1 vbs js jse hta scr msi lnk doc docx docm xls xlsx xlsm ppt pptx pdf rtf txt "
    "log csv json xml yml yaml ini cfg conf zip rar 7z gz tgz tar iso img jar py sh php asp aspx jsp html htm "
    "png jpg jpeg gif tmp dat bin db".split()
)


def detect_observable(value: Any, *, allow_domain: bool = False) -> Observable | None:
    """The observable a bare field value is, by its shape: IP, URL, e-mail, hash, and (when the
    field's name says it names a host) a domain. Anything else is None."""
    if not isinstance(value, str) or not 3 <= len(value) <= MAX_ENTITY_VALUE:
        return None
    text = refang(value.strip())
    if "://" in text[:12]:
        return try_observable("url", text)
    for obs_type in ("ip", "email", "hash"):
        found = try_observable(obs_type, text)
        if found is not None:
            return found
    if allow_domain and text.rsplit(".", 1)[-1].lower() not in _FILE_SUFFIXES:
        return try_observable("domain", text)
    return None


def extract_observables(text: str) -> list[Observable]:
    """Pull URLs, IPv4 addresses, e-mail addresses and hashes out of free text (defanged
    forms included; HTML entities decoded)."""
    if not text:
        return []
    text = text[:MAX_DESCRIPTION]
    if "&" in text:
        text = html.unescape(text)
    if "hxxp" in text.lower() or "[.]" in text:
        text = " ".join(refang(word) for word in text.split())
    pairs: list[tuple[str, Any]] = []
    for url in _URL_IN_TEXT.findall(text):
        pairs.append(("url", url.rstrip(".,;")))
        host = re.sub(r"^https?://", "", url, flags=re.IGNORECASE).split("/")[0].split(":")[0]
        pairs.append(("ip" if _IPV4_IN_TEXT.fullmatch(host) else "domain", host))
    pairs += [("ip", ip) for ip in _IPV4_IN_TEXT.findall(text)]
    pairs += [("email", addr) for addr in _EMAIL_IN_TEXT.findall(text)]
    pairs += [("hash", digest) for digest in _HASH_IN_TEXT.findall(text)]
    return observables_from(pairs)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)[:MAX_DESCRIPTION]
    return str(value)
