"""The alert page (/alerts/<id>/) and dismissing alerts from the queue: what the page shows,
who may see it and who may act."""

import json

import pytest
from django.test import Client

from alerts.models import Alert, AlertGroup, AlertSource, CorrelationRule, Observable
from cases import api_tokens
from cases.models import AuditLog
from tests.factories import build_world

pytestmark = pytest.mark.django_db
EVIL = '<script>alert("pwned")</script>'


@pytest.fixture
def w():
    w = build_world()
    w.blue_source = AlertSource.objects.create(name="blue-siem", kind="generic", token_hash="b" * 64,
                                               default_team=w.blue)
    w.red_source = AlertSource.objects.create(name="red-siem", kind="generic", token_hash="r" * 64,
                                              default_team=w.red)
    rule = CorrelationRule.objects.get_or_create(name="Same entity within 15 minutes")[0]
    group = AlertGroup.objects.create(rule=rule, key="ip:198.51.100.7", key_hash="k" * 64,
                                      first_seen="2026-01-01T00:00Z", last_seen="2026-01-01T00:00Z", alert_count=2)
    w.queued = Alert.objects.create(
        source=w.blue_source, title="Port scan from 198.51.100.7", severity="medium", severity_raw="warn",
        fingerprint="q1", entity_type="ip", entity_value="198.51.100.7", occurrence_count=4, group=group,
        raw={"event": {"src": "198.51.100.7", "note": EVIL}, "tags": ["a", "b"]},
        parse_warnings=["severity 'warn' is not a known level; medium used"])
    w.queued.observables.add(Observable.objects.create(type="ip", value="198.51.100.7",
                                                       value_hash=Observable.digest("198.51.100.7")))
    w.sibling = Alert.objects.create(source=w.blue_source, title="Sibling in group", severity="low",
                                     fingerprint="q2", group=group)
    w.in_case = Alert.objects.create(source=w.blue_source, title="Beacon in case", severity="high",
                                     fingerprint="c1", case=w.blue_case, status=Alert.Status.IN_CASE)
    w.red_queued = Alert.objects.create(source=w.red_source, title="Red queued", severity="low", fingerprint="r1")
    return w


def test_alert_page_shows_fields_warnings_observables_raw_event_and_occurrences(client, w):
    client.force_login(w.analyst)
    response = client.get(f"/alerts/{w.queued.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    for expected in ("Port scan from 198.51.100.7", "sent as “warn”", "is not a known level", "198[.]51[.]100[.]7",
                     'id="raw-json"', "<details>", '&quot;src&quot;: &quot;198.51.100.7&quot;', "&lt;script&gt;",
                     "Occurrences",
                     ">4<", "Sibling in group", "Same entity within 15 minutes", 'id="dismiss-btn"',
                     'id="promote-btn"', 'id="attach-btn"'):
        assert expected in html, expected
    assert EVIL not in html
    assert '{\n  &quot;event&quot;: {\n    &quot;src&quot;' in html  # indented JSON, escaped


def test_alert_page_links_its_case_and_titles_link_to_the_page(client, w):
    client.force_login(w.analyst)
    html = client.get(f"/alerts/{w.in_case.pk}/").content.decode()
    assert f'href="/cases/{w.blue_case.pk}/"' in html and 'id="dismiss-btn"' not in html
    assert f'href="/alerts/{w.in_case.pk}/"' in client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert f'href="/alerts/{w.queued.pk}/"' in client.get("/alerts/").content.decode()


def test_another_teams_alert_is_404_and_auditors_read_without_acting(client, w):
    client.force_login(w.analyst)
    assert client.get(f"/alerts/{w.red_queued.pk}/").status_code == 404
    assert client.get("/alerts/999999/").status_code == 404
    refused = client.post("/alerts/dismiss", {"ids": [w.red_queued.pk], "reason": "noise"}, follow=True)
    assert "Select at least one alert you can see" in refused.content.decode()
    w.red_queued.refresh_from_db()
    assert w.red_queued.status == Alert.Status.QUEUED
    client.force_login(w.auditor)
    html = client.get(f"/alerts/{w.queued.pk}/").content.decode()
    assert "Port scan" in html and 'id="alert-actions-panel"' not in html and 'id="dismiss-btn"' not in html
    for url, data in (("/alerts/dismiss", {"ids": [w.queued.pk], "reason": "x"}),
                      ("/alerts/restore", {"ids": [w.queued.pk]}),
                      ("/alerts/promote", {"ids": [w.queued.pk]}),
                      ("/alerts/attach", {"ids": [w.queued.pk], "case_id": w.blue_case.pk})):
        assert client.post(url, data, HTTP_REFERER=f"http://testserver/alerts/{w.queued.pk}/").status_code == 403
    w.queued.refresh_from_db()
    assert w.queued.status == Alert.Status.QUEUED


def test_dismiss_with_a_reason_records_who_why_when_and_can_be_restored(client, w):
    client.force_login(w.analyst)
    missing = client.post("/alerts/dismiss", {"ids": [w.queued.pk], "reason": "  "}, follow=True)
    assert "Give a reason" in missing.content.decode()
    response = client.post("/alerts/dismiss", {"ids": [w.queued.pk], "reason": "Known scanner",
                                               "next": f"/alerts/{w.queued.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/alerts/{w.queued.pk}/"
    w.queued.refresh_from_db()
    assert (w.queued.status, w.queued.dismiss_reason, w.queued.dismissed_by) == ("dismissed", "Known scanner",
                                                                                  w.analyst)
    assert w.queued.dismissed_at is not None
    audit = AuditLog.objects.get(action="alert.dismiss", object_id=str(w.queued.pk))
    assert audit.actor == w.analyst and audit.after["reason"] == "Known scanner"
    page = client.get(f"/alerts/{w.queued.pk}/").content.decode()
    assert "Known scanner" in page and 'id="restore-btn"' in page
    assert "Port scan" not in client.get("/alerts/").content.decode()  # out of the queue
    assert "Port scan" in client.get("/alerts/?status=dismissed").content.decode()
    client.post("/alerts/restore", {"ids": [w.queued.pk]})
    w.queued.refresh_from_db()
    assert (w.queued.status, w.queued.dismiss_reason, w.queued.dismissed_at) == ("queued", "", None)
    assert AuditLog.objects.filter(action="alert.restore", object_id=str(w.queued.pk)).exists()


def test_bulk_dismiss_from_the_queue_skips_alerts_in_cases(client, w):
    client.force_login(w.analyst)
    response = client.post("/alerts/dismiss", {"ids": [w.queued.pk, w.sibling.pk, w.in_case.pk],
                                               "reason": "Maintenance window"}, follow=True)
    assert "2 alert(s) dismissed" in response.content.decode()
    statuses = dict(Alert.objects.filter(pk__in=[w.queued.pk, w.sibling.pk, w.in_case.pk])
                    .values_list("pk", "status"))
    assert statuses == {w.queued.pk: "dismissed", w.sibling.pk: "dismissed", w.in_case.pk: "in_case"}
    again = client.post("/alerts/dismiss", {"ids": [w.queued.pk], "reason": "again"}, follow=True)
    assert "None of these alerts is waiting in the queue" in again.content.decode()
    assert 'id="dismiss-btn"' in client.get("/alerts/").content.decode()


def test_promote_from_the_alert_page(client, w):
    client.force_login(w.analyst)
    response = client.post("/alerts/promote", {"ids": [w.queued.pk], "title": "From the alert page"})
    assert response.status_code == 302
    w.queued.refresh_from_db()
    assert w.queued.case is not None and w.queued.case.title == "From the alert page"


def _api(client, path: str, data, **extra):
    return client.post(path, data=json.dumps(data), content_type="application/json", **extra)


def test_the_api_dismisses_with_a_reason_and_restores_as_the_page_does(client, w):
    client.force_login(w.analyst)
    blank = _api(client, "/api/v1/alerts/dismiss", {"alert_ids": [w.queued.pk], "reason": ""})
    assert blank.status_code == 400 and "reason" in blank.json()
    too_long = _api(client, "/api/v1/alerts/dismiss", {"alert_ids": [w.queued.pk], "reason": "x" * 501})
    assert too_long.status_code == 400 and "reason" in too_long.json()
    dismissed = _api(client, "/api/v1/alerts/dismiss",
                     {"alert_ids": [w.queued.pk, w.in_case.pk], "reason": "Known scanner"})
    assert dismissed.status_code == 200 and dismissed.json() == {"alerts": 1}
    w.queued.refresh_from_db()
    w.in_case.refresh_from_db()
    assert (w.queued.status, w.queued.dismiss_reason, w.queued.dismissed_by) == ("dismissed", "Known scanner",
                                                                                  w.analyst)
    assert w.in_case.status == "in_case"
    assert AuditLog.objects.filter(action="alert.dismiss", object_id=str(w.queued.pk)).count() == 1
    restored = _api(client, "/api/v1/alerts/restore", {"alert_ids": [w.queued.pk]})
    assert restored.status_code == 200 and restored.json() == {"alerts": 1}
    w.queued.refresh_from_db()
    assert (w.queued.status, w.queued.dismiss_reason) == ("queued", "")
    assert _api(client, "/api/v1/alerts/restore", {"alert_ids": [w.queued.pk]}).status_code == 400  # not dismissed


def test_the_api_refuses_other_teams_alerts_auditors_and_read_tokens(client, w):
    client.force_login(w.analyst)
    other_team = _api(client, "/api/v1/alerts/dismiss", {"alert_ids": [w.red_queued.pk], "reason": "noise"})
    assert other_team.status_code == 400
    w.red_queued.refresh_from_db()
    assert w.red_queued.status == "queued"
    client.force_login(w.auditor)
    assert _api(client, "/api/v1/alerts/dismiss", {"alert_ids": [w.queued.pk], "reason": "x"}).status_code == 403
    _, key = api_tokens.create_personal_token(w.analyst, name="ro", scope="read", expires_in_days=5)
    anonymous = Client(REMOTE_ADDR="198.51.100.7")
    read_only = _api(anonymous, "/api/v1/alerts/dismiss", {"alert_ids": [w.queued.pk], "reason": "x"},
                     HTTP_AUTHORIZATION=f"Token {key}")
    assert read_only.status_code == 403
    w.queued.refresh_from_db()
    assert w.queued.status == "queued"
