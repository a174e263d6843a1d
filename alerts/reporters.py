"""Who reported a phish. A user's report is analysed as the original message it carries, whose
Message-ID is the alert's identity: the same phish reported by a second user is a re-send of the
first report's alert (``occurrence_count``), not a new alert. The e-mail adapter records the
first reporter on the alert it builds (``raw["reporter"]``, "Reported by:" in the description);
this module records the later ones on that stored alert, so that the SOC knows everyone who
received the phish and whom to tell the verdict."""

from __future__ import annotations

from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.db import transaction

from alerts.models import Alert

if TYPE_CHECKING:
    from alerts.normalization import NormalizedAlert

# More than this many reporters of one phish are counted (occurrence_count), not listed.
MAX_REPORTERS = 100


def reporter_of(alert: NormalizedAlert) -> str:
    """The reporter the adapter found for this alert ("" for anything but a user's report)."""
    raw: Any = alert.raw
    return str(raw.get("reporter") or "") if isinstance(raw, dict) else ""


def reporters_of(raw: Any) -> list[str]:
    """Everyone who reported a stored alert, first reporter first."""
    if not isinstance(raw, dict):
        return []
    listed = raw.get("reporters")
    if isinstance(listed, list):
        return [str(name) for name in listed if name]
    return [str(raw["reporter"])] if raw.get("reporter") else []


def _address(reporter: str) -> str:
    return (parseaddr(reporter)[1] or reporter).strip().lower()


def record_reporters(resent: list[tuple[int, NormalizedAlert]]) -> int:
    """Adds each re-sent report's reporter to its stored alert (``raw["reporters"]`` and an "Also
    reported by:" line of the description), unless that address is already listed: a report read
    twice (a mailbox re-read after a crash) changes nothing. ``resent``: (stored alert id, the
    re-sent alert as parsed). Runs in the caller's transaction, where the upsert already locked
    each row. Returns how many reporters were added."""
    wanted = [(alert_id, reporter) for alert_id, alert in resent if (reporter := reporter_of(alert))]
    if not wanted:
        return 0
    added = 0
    with transaction.atomic():
        rows = {row.pk: row for row in Alert.objects.select_for_update()
                .filter(pk__in={alert_id for alert_id, _ in wanted}).only("id", "raw", "description")}
        for alert_id, reporter in wanted:
            row = rows.get(alert_id)
            if row is None or not isinstance(row.raw, dict):
                continue
            reporters = reporters_of(row.raw)
            if _address(reporter) in {_address(name) for name in reporters} or len(reporters) >= MAX_REPORTERS:
                continue
            row.raw = {**row.raw, "reporters": [*reporters, reporter]}
            row.description = _with_reporter_line(row.description, reporter)
            row.save(update_fields=["raw", "description"])
            added += 1
    return added


def _with_reporter_line(description: str, reporter: str) -> str:
    """The description with one more "Also reported by:" line, after the reporter lines (else
    at the end of the header lines, before the message's text)."""
    head, separator, body = description.partition("\n\n")
    lines = head.split("\n")
    after = max((i for i, line in enumerate(lines) if line.startswith(("Reported by:", "Also reported by:"))),
                default=len(lines) - 1)
    lines.insert(after + 1, f"Also reported by: {reporter}")
    return "\n".join(lines) + separator + body
