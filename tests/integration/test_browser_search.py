"""Find anything and the alert page in headless Chromium against a real gunicorn on PostgreSQL:
search an IP from the top bar, open its case, open an alert from the case page, read the raw
event, then dismiss a queued alert from the alert queue with a reason."""

from __future__ import annotations

import re

import pytest

from alerts.models import Alert, AlertSource, Observable
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
IP = "203.0.113.145"


@pytest.fixture
def world():
    w = build_world()
    source = AlertSource.objects.create(name="edr", kind="generic", token_hash="7" * 64, default_team=w.blue)
    w.blue_case.observables.add(Observable.objects.create(type="ip", value=IP, value_hash=Observable.digest(IP)))
    w.in_case = Alert.objects.create(source=source, title="Beacon from ws-alice", severity="high", fingerprint="b1",
                                     entity_type="hostname", entity_value="ws-alice.example.com", case=w.blue_case,
                                     status=Alert.Status.IN_CASE, raw={"process": {"name": "rundll32.exe"}})
    w.queued = Alert.objects.create(source=source, title="Port scan from 198.51.100.7", severity="low",
                                    fingerprint="q1", entity_type="ip", entity_value="198.51.100.7")
    return w


def test_search_an_ip_open_the_case_and_an_alert_then_dismiss_from_the_queue(live_server_url, world, browser):
    base = live_server_url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")

    page.fill("#top-search", IP)
    page.press("#top-search", "Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    assert page.locator('[data-count="cases"]').inner_text() == "1"
    page.click(f'#results-cases a[href="/cases/{world.blue_case.pk}/"]')
    page.wait_for_url(re.compile(rf"/cases/{world.blue_case.pk}/$"))

    page.click(f'#alerts a[href="/alerts/{world.in_case.pk}/"]')
    page.wait_for_url(re.compile(rf"/alerts/{world.in_case.pk}/$"))
    assert page.locator("#alert-title").inner_text() == "Beacon from ws-alice"
    raw = page.locator("#raw-json")
    assert not raw.is_visible()  # collapsed until asked for
    page.click("#raw-event summary")
    raw.wait_for(state="visible")
    assert '"name": "rundll32.exe"' in raw.inner_text()

    page.goto(f"{base}/alerts/")
    page.check(f'input[name=ids][value="{world.queued.pk}"]')
    page.fill("input[name=reason]", "Known vulnerability scanner")
    page.click("#dismiss-btn")
    page.wait_for_selector(".msg-success")
    assert page.locator(f'tr[data-alert-id="{world.queued.pk}"]').count() == 0
    alert = off_loop(lambda: Alert.objects.get(pk=world.queued.pk))
    assert (alert.status, alert.dismiss_reason, alert.dismissed_by_id) == (
        "dismissed", "Known vulnerability scanner", world.analyst.pk)
    assert errors == []
