"""Report e-mails and their django-celery-beat schedules (embedded mode, real local SMTP)."""

import csv
import datetime as dt
import io
import json
import logging

import pytest
from django.db.models import F
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from cases.models import Case
from reporting import services, tasks
from tests.support.eager import EAGER_GET
from tests.support.reporting_data import NOW, build_world
from tests.support.smtp_server import LocalSMTPServer

pytestmark = pytest.mark.django_db

# NOW is 2026-02-01 12:00 UTC: a 31-day report covers every January case (and not December's).
REPORT_NOW = NOW


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def smtp():
    server = LocalSMTPServer().start()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                           EMAIL_HOST=server.host, EMAIL_PORT=server.port, EMAIL_USE_TLS=False,
                           EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD=""):
        yield server
    server.stop()


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    return text, html, attachments


def test_report_email_has_the_figures_in_text_and_html_and_the_cases_as_csv(world):
    report = services.validate_report_kwargs({"recipients": ["soc@example.org"], "team": "red", "range_days": 31,
                                              "frequency": "weekly"})
    message = services.build_report_email(report, now=REPORT_NOW)
    assert message.to == ["soc@example.org"]
    assert message.subject.startswith("[Mini-SOAR] Weekly report, Red: 2026-01-01 12:00 to 2026-02-01 12:00")
    text = message.body
    assert "Cases:            3 (2 open, 1 resolved)" in text
    assert "MTTA:             20m 0s" in text and "MTTR:             2h 0m" in text
    assert "SLA breaches:     2 (acknowledge 2, resolve 2)" in text
    assert "Automation rate:  33.3%" in text and "siem: 4" in text
    html = message.alternatives[0][0]
    assert '<td id="fig-mtta">20m 0s</td>' in html and '<td id="fig-cases">3</td>' in html
    name, content, mimetype = message.attachments[0]
    assert mimetype == "text/csv" and name == "soar-cases-20260201.csv"
    rows = list(csv.DictReader(io.StringIO(content)))
    assert {row["title"] for row in rows} == {"c1 phishing", "c2 ransomware", "c3 scan"}


def test_report_for_every_team_counts_every_case(world):
    report = services.validate_report_kwargs({"recipients": ["a@example.org"], "range_days": 31})
    message = services.build_report_email(report, now=REPORT_NOW)
    assert "all teams" in message.subject and "Cases:            4 " in message.body
    assert "bob: 1 cases" in message.body


@override_settings(SOAR_REPORT_MAX_CSV_ROWS=2)
def test_csv_attachment_is_capped(world):
    report = services.validate_report_kwargs({"recipients": ["a@example.org"], "range_days": 31})
    message = services.build_report_email(report, now=REPORT_NOW)
    assert len(list(csv.DictReader(io.StringIO(message.attachments[0][1])))) == 2
    assert "(the first 2 only)" in message.body


@pytest.mark.parametrize("kwargs, error", [
    ({"recipients": []}, "recipients is empty"),
    ({"recipients": "not-an-address"}, "not an e-mail address"),
    ({"recipients": 5}, "must be a list"),
    ({"recipients": ["a@example.org"], "team": "ghosts"}, "no team with slug"),
    ({"recipients": ["a@example.org"], "range_days": 0}, "between 1 and"),
    ({"recipients": ["a@example.org"], "range_days": "week"}, "whole number"),
    ({"recipients": ["a@example.org"], "frequency": "hourly"}, "frequency must be one of"),
    ({"recipients": ["a@example.org"], "recipient": "typo"}, "unknown argument"),
])
def test_bad_schedule_arguments_are_explained(world, kwargs, error):
    with pytest.raises(services.ReportScheduleError, match=error):
        services.validate_report_kwargs(kwargs)


def test_task_with_bad_arguments_logs_a_clear_error_and_sends_nothing(world, smtp, caplog):
    with caplog.at_level(logging.ERROR, logger="reporting.tasks"):
        result = tasks.send_scheduled_report.apply(kwargs={"recipients": [], "range_days": 7}).get(**EAGER_GET)
    assert result == {"sent": False, "error": "recipients is empty"}
    assert "scheduled report not sent" in caplog.text and "recipients is empty" in caplog.text
    assert smtp.messages == []


def move_to_yesterday(case):
    """The task reports on the days before the real now."""
    shift = timezone.now() - dt.timedelta(days=1) - case.created_at
    Case.objects.filter(pk=case.pk).update(created_at=F("created_at") + shift, triaged_at=F("triaged_at") + shift,
                                           resolved_at=F("resolved_at") + shift)


def test_task_sends_over_smtp(world, smtp):
    move_to_yesterday(world.c4)
    result = tasks.send_scheduled_report.apply(kwargs={
        "recipients": ["soc@example.org", "lead@example.org"], "team": "blue", "range_days": 2,
        "frequency": "daily"}).get()
    assert result["sent"] is True
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "soc@example.org, lead@example.org" and "Daily report, Blue" in message["Subject"]
    text, html, attachments = parts(message)
    assert "Cases:            1 (0 open, 1 resolved)" in text and "MTTA:             50m 0s" in text
    assert '<td id="fig-mttr">4h 0m</td>' in html
    (name, attachment), = attachments.items()
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert [row["title"] for row in rows] == ["c4 malware"]


def test_create_report_schedule_makes_a_beat_periodic_task(world):
    task = services.create_report_schedule("Red weekly", ["lead@example.org"], team_slug="red",
                                           frequency="weekly", hour=6)
    task = PeriodicTask.objects.get(pk=task.pk)
    assert task.task == "reporting.tasks.send_scheduled_report" and task.enabled
    assert json.loads(task.kwargs) == {"recipients": ["lead@example.org"], "team": "red", "range_days": 7,
                                       "frequency": "weekly"}
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "6", "1")
    again = services.create_report_schedule("Red weekly", ["x@example.org"], frequency="daily", hour=7)
    assert again.pk == task.pk and json.loads(again.kwargs)["range_days"] == 1
    assert again.crontab.day_of_week == "*"
    with pytest.raises(services.ReportScheduleError):
        services.create_report_schedule("bad", ["x@example.org"], hour=24)
    with pytest.raises(services.ReportScheduleError):
        services.create_report_schedule("bad", ["x@example.org"], team_slug="ghosts")
