"""Live regions of the queues: the rows alone for the poller (X-Soar-Live), an ETag of their
content, 304 while nothing changed, new rows once something did, and never another team's."""

import pytest
from django.test import Client

from alerts.models import Alert, AlertSource
from cases import services
from soar.live import content_etag
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_case_queue_rows_fragment_is_etagged_and_follows_changes(world):
    client = client_for(world.analyst)
    first = client.get("/", HTTP_X_SOAR_LIVE="queue-rows")
    body = first.content.decode()
    assert first.status_code == 200 and body.startswith("<tbody") and "<html" not in body
    assert "Blue phishing wave" in body and "Red lateral movement" not in body
    assert client.get("/", HTTP_X_SOAR_LIVE="queue-rows", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    services.open_case(title="Fresh ransomware note", severity="critical", team=world.blue)
    services.open_case(title="Red only", severity="critical", team=world.red)
    changed = client.get("/", HTTP_X_SOAR_LIVE="queue-rows", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and "Fresh ransomware note" in changed.content.decode()
    assert "Red only" not in changed.content.decode()


def test_the_whole_queue_page_carries_the_live_region(world):
    page = client_for(world.analyst).get("/?severity=high").content.decode()
    assert 'data-live="queue-rows"' in page and 'data-live-url="/?severity=high"' in page


def test_alert_queue_rows_fragment(world):
    source = AlertSource.objects.create(name="edr", kind="generic", token_hash="7" * 64, default_team=world.blue)
    Alert.objects.create(source=source, title="Port scan from 203.0.113.50", severity="low", fingerprint="lv1")
    client = client_for(world.analyst)
    first = client.get("/alerts/", HTTP_X_SOAR_LIVE="alert-rows")
    assert first.content.decode().startswith("<tbody") and "Port scan from 203.0.113.50" in first.content.decode()
    assert client.get("/alerts/", HTTP_X_SOAR_LIVE="alert-rows", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    outsider = client_for(world.red_analyst).get("/alerts/", HTTP_X_SOAR_LIVE="alert-rows").content.decode()
    assert "Port scan" not in outsider


def test_timeline_fragment_and_a_form_holding_region_can_be_unchanged(world):
    client = client_for(world.analyst)
    url = f"/cases/{world.blue_case.pk}/"
    first = client.get(url, HTTP_X_SOAR_LIVE="timeline")
    assert first.content.decode().startswith('<ol class="timeline"')
    assert client.get(url, HTTP_X_SOAR_LIVE="timeline", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    services.add_note(world.blue_case, "Pivoted on the **hash**.", actor=world.analyst)
    changed = client.get(url, HTTP_X_SOAR_LIVE="timeline", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and "<strong>hash</strong>" in changed.content.decode()
    panel = client.get(f"/playbooks/cases/{world.blue_case.pk}/panel")
    again = client.get(f"/playbooks/cases/{world.blue_case.pk}/panel", HTTP_IF_NONE_MATCH=panel["ETag"])
    assert again.status_code == 304
    assert client_for(world.red_analyst).get(url, HTTP_X_SOAR_LIVE="timeline").status_code == 404


def test_the_etag_ignores_the_csrf_tokens_fresh_mask_only():
    form = b'<form><input type="hidden" name="csrfmiddlewaretoken" value="%s"><b>%s</b></form>'
    assert content_etag(form % (b"aaa", b"x")) == content_etag(form % (b"bbb", b"x"))
    assert content_etag(form % (b"aaa", b"x")) != content_etag(form % (b"aaa", b"y"))
