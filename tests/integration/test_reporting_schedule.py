"""A scheduled report e-mail through the real path: django-celery-beat's DatabaseScheduler in a
`celery beat` process, a `celery worker` process, PostgreSQL, Redis and an aiosmtpd server."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from cases.models import Case, CaseEvent, Team
from reporting import services
from tests.support.smtp_server import LocalSMTPServer

pytestmark = pytest.mark.django_db(transaction=True)


def make_cases():
    team = Team.objects.create(name="Night shift", slug="night")
    other = Team.objects.create(name="Day shift", slug="day")
    now = timezone.now()
    created = now - dt.timedelta(hours=6)
    fast = Case.objects.create(title="Beaconing from finance laptop", team=team, severity="high")
    Case.objects.filter(pk=fast.pk).update(created_at=created, triaged_at=created + dt.timedelta(minutes=15),
                                           resolved_at=created + dt.timedelta(hours=1), status="RESOLVED")
    slow = Case.objects.create(title="Impossible travel for j.doe", team=team, severity="medium")
    Case.objects.filter(pk=slow.pk).update(created_at=created + dt.timedelta(hours=1))
    hidden = Case.objects.create(title="Other team's case", team=other, severity="critical")
    Case.objects.filter(pk=hidden.pk).update(created_at=created)
    CaseEvent.objects.create(case=fast, kind=CaseEvent.Kind.PLAYBOOK, actor_label="automation")
    return team


def test_beat_schedules_the_report_and_the_worker_mails_it(service_factory, wait_until):
    make_cases()
    smtp = LocalSMTPServer().start()
    services_started = []
    try:
        task = services.create_report_schedule("Night shift daily", ["soc@example.org", "lead@example.org"],
                                               team_slug="night", frequency="daily", range_days=1, hour=7)
        # The real schedule is a daily crontab; for the test the same task fires every 2 seconds.
        every_two_seconds, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.filter(pk=task.pk).update(crontab=None, interval=every_two_seconds)

        services_started.append(service_factory("worker", name="worker-reporting", concurrency=1,
                                                SOAR_SMTP_HOST=smtp.host, SOAR_SMTP_PORT=smtp.port))
        services_started.append(service_factory("beat", name="beat-reporting",
                                                scheduler="django_celery_beat.schedulers:DatabaseScheduler"))
        wait_until(lambda: smtp.messages, timeout=180, message="the scheduled report e-mail")
    finally:
        for service in reversed(services_started):
            service.stop()
        smtp.stop()

    message = smtp.messages[0]
    assert message["Subject"].startswith("[Mini-SOAR] Daily report, Night shift:")
    assert message["To"] == "soc@example.org, lead@example.org"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Cases:            2 (1 open, 1 resolved)" in text
    assert "MTTA:             15m 0s" in text and "MTTR:             1h 0m" in text
    assert "Automation rate:  50.0%" in text
    assert '<td id="fig-cases">2</td>' in html and '<td id="fig-mtta">15m 0s</td>' in html
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_content_type() == "text/csv"
    rows = list(csv.DictReader(io.StringIO(attachments[0].get_content())))
    assert sorted(row["title"] for row in rows) == ["Beaconing from finance laptop", "Impossible travel for j.doe"]
    assert {row["team"] for row in rows} == {"night"}
