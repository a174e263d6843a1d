"""Live pages in headless Chromium against a real gunicorn: the case queue, the navigation
badges, the case timeline and the alert queue show what others do without a reload (the
poll interval is 1 s here, SOAR_LIVE_POLL_SECONDS), and a hidden tab stops polling."""

from __future__ import annotations

import pytest

from alerts.models import Alert, AlertSource
from cases import services
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 20_000


@pytest.fixture
def world():
    w = build_world()
    w.source = AlertSource.objects.create(name="edr", kind="generic", token_hash="6" * 64, default_team=w.blue)
    return w


def test_pages_follow_changes_without_a_reload(service_factory, world, browser):
    base = service_factory("web", name="web-live", SOAR_LIVE_POLL_SECONDS="1").url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")
    page.evaluate("window.__notReloaded = true")

    off_loop(lambda: services.open_case(title="Fresh ransomware note", severity="critical", team=world.blue))
    page.wait_for_selector("#case-rows >> text=Fresh ransomware note", timeout=WAIT_MS)
    off_loop(lambda: services.assign_case(world.blue_case, world.analyst, actor=world.lead))
    page.wait_for_function("document.querySelector('#badge-assigned .count').textContent.trim() === '1'",
                           timeout=WAIT_MS)
    assert page.evaluate("window.__notReloaded === true")

    page.goto(f"{base}/cases/{world.blue_case.pk}/")
    page.evaluate("window.__notReloaded = true")
    off_loop(lambda: services.add_note(world.blue_case, "Mate found the **dropper**.", actor=world.mate))
    page.wait_for_selector("#timeline-entries strong:has-text('dropper')", timeout=WAIT_MS)
    assert page.evaluate("window.__notReloaded === true")

    page.goto(f"{base}/alerts/")
    off_loop(lambda: Alert.objects.create(source=world.source, title="Beacon to c2.example.test", severity="high",
                                          fingerprint="live-1", entity_type="domain", entity_value="c2.example.test"))
    page.wait_for_selector("#alert-rows >> text=Beacon to c2.example.test", timeout=WAIT_MS)

    # A hidden tab makes no request.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(3000)
    assert not [url for url in requests if "/alerts/" in url], requests
    assert not errors, errors
