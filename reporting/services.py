"""Report e-mails and their schedules.

A schedule is a django-celery-beat ``PeriodicTask`` (edited in the admin under "Periodic
tasks") running ``reporting.tasks.send_scheduled_report`` with keyword arguments:

    {"recipients": ["soc@example.org"], "team": "<team slug or empty>", "range_days": 7,
     "frequency": "daily" | "weekly"}

The e-mail (HTML + plain text) carries the figures of the last ``range_days`` days for the team
(every case when empty) and the range's cases as a CSV attachment, sent over SMTP with the
EMAIL_* settings."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from cases.selectors import team_by_slug
from reporting import exports, formatting
from reporting.selectors import ReportScope, report_summary, scoped_cases

if TYPE_CHECKING:
    from cases.models import Team

logger = logging.getLogger(__name__)

TASK_NAME = "reporting.tasks.send_scheduled_report"
FREQUENCIES = ("daily", "weekly")
MAX_RANGE_DAYS = 366
MAX_RECIPIENTS = 50


class ReportScheduleError(ValueError):
    """Bad schedule arguments; the message says which and why."""


@dataclass(frozen=True)
class ReportRequest:
    recipients: tuple[str, ...]
    team: Team | None
    range_days: int
    frequency: str


def validate_report_kwargs(kwargs: dict[str, Any]) -> ReportRequest:
    """Check a schedule's kwargs (they are typed by hand in the admin)."""
    unknown = set(kwargs) - {"recipients", "team", "range_days", "frequency"}
    if unknown:
        raise ReportScheduleError(f"unknown argument(s): {', '.join(sorted(unknown))}")
    recipients = kwargs.get("recipients")
    if isinstance(recipients, str):
        recipients = [item for item in recipients.replace(";", ",").split(",")]
    if not isinstance(recipients, (list, tuple)):
        raise ReportScheduleError("recipients must be a list of e-mail addresses")
    recipients = [str(item).strip() for item in recipients if str(item).strip()]
    if not recipients:
        raise ReportScheduleError("recipients is empty")
    if len(recipients) > MAX_RECIPIENTS:
        raise ReportScheduleError(f"at most {MAX_RECIPIENTS} recipients")
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            raise ReportScheduleError(f"not an e-mail address: {address!r}")
    team_slug = str(kwargs.get("team") or "").strip()
    team = None
    if team_slug:
        team = team_by_slug(team_slug)
        if team is None:
            raise ReportScheduleError(f"no team with slug {team_slug!r}")
    range_days = kwargs.get("range_days", 7)
    if isinstance(range_days, bool) or not isinstance(range_days, (int, str)) or not str(range_days).isdigit():
        raise ReportScheduleError("range_days must be a whole number of days")
    range_days = int(range_days)
    if not 1 <= range_days <= MAX_RANGE_DAYS:
        raise ReportScheduleError(f"range_days must be between 1 and {MAX_RANGE_DAYS}")
    frequency = str(kwargs.get("frequency") or "daily").lower()
    if frequency not in FREQUENCIES:
        raise ReportScheduleError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    return ReportRequest(tuple(dict.fromkeys(recipients)), team, range_days, frequency)


def _dashboard_url() -> str:
    base = getattr(settings, "SOAR_BASE_URL", "") or ""
    return base.rstrip("/") + "/reports/" if base else ""


def build_report_email(report: ReportRequest, now: dt.datetime | None = None) -> EmailMultiAlternatives:
    now = now or timezone.now()
    scope = ReportScope.last_days(report.range_days, team=report.team, now=now)
    summary = report_summary(None, scope, now=now)
    limit = settings.SOAR_REPORT_MAX_CSV_ROWS
    csv_body, csv_rows, truncated = exports.csv_text(exports.cases_export(scoped_cases(None, scope)), limit=limit)
    team_label = report.team.name if report.team else "all teams"
    subject = (f"[Mini-SOAR] {report.frequency.capitalize()} report, {team_label}: "
               f"{scope.start:%Y-%m-%d %H:%M} to {scope.end:%Y-%m-%d %H:%M} UTC")
    context = {
        **formatting.figures_context(summary),
        "team_label": team_label,
        "report": report,
        "scope": scope,
        "csv_rows": csv_rows,
        "csv_truncated": truncated,
        "csv_limit": limit,
        "dashboard_url": _dashboard_url(),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("reporting/email/report.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(report.recipients),
    )
    message.attach_alternative(render_to_string("reporting/email/report.html", context), "text/html")
    message.attach(f"soar-cases-{scope.end:%Y%m%d}.csv", csv_body, "text/csv")
    return message


def send_report(report: ReportRequest, now: dt.datetime | None = None) -> dict[str, Any]:
    message = build_report_email(report, now=now)
    message.send(fail_silently=False)
    logger.info("report e-mail sent to %d recipient(s): %s", len(report.recipients), message.subject)
    return {"sent": True, "recipients": list(report.recipients), "subject": message.subject}


@transaction.atomic
def create_report_schedule(name: str, recipients: str | Iterable[str], team_slug: str = "", frequency: str = "daily",
                           range_days: int | None = None, hour: int = 7) -> PeriodicTask:
    """Create or update the PeriodicTask ``name``: at ``hour``:00 UTC every day (daily) or every
    Monday (weekly). ``range_days`` defaults to 1 (daily) or 7 (weekly)."""
    frequency = str(frequency).lower()
    if range_days is None:
        range_days = 7 if frequency == "weekly" else 1
    kwargs = {"recipients": list(recipients) if not isinstance(recipients, str) else recipients,
              "team": team_slug or "", "range_days": range_days, "frequency": frequency}
    report = validate_report_kwargs(kwargs)
    if not str(name).strip():
        raise ReportScheduleError("the schedule needs a name")
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ReportScheduleError("hour must be 0-23 (UTC)")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour=str(hour), day_of_week="1" if frequency == "weekly" else "*",
        day_of_month="*", month_of_year="*", timezone="UTC",
    )
    stored = {"recipients": list(report.recipients), "team": report.team.slug if report.team else "",
              "range_days": report.range_days, "frequency": report.frequency}
    task, _ = PeriodicTask.objects.update_or_create(
        name=str(name).strip(),
        defaults={"task": TASK_NAME, "crontab": crontab, "interval": None, "kwargs": json.dumps(stored),
                  "enabled": True, "description": f"{frequency.capitalize()} report e-mail"},
    )
    return task
