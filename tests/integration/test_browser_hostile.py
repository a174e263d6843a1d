"""Hostile alert strings in headless Chromium: alerts whose title, description, entity and
observables carry script, event-handler and template syntax arrive through the real webhook,
the worker opens a case, and the analyst pages show them as inert text. A second gunicorn
with the production Content-Security-Policy serves every page (Swagger UI too) without a
single CSP violation, so the policy breaks nothing."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from alerts.models import Alert
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
EXPR = "{{ 7*7 }}"
TAG = '{% now "Y" %}'
HOSTILE_TITLE = f"{SCRIPT} {EXPR} {TAG} beacon {IMG}"


@pytest.fixture
def hostile_world(make_source, celery_worker, live_server_url, wait_until):
    world = build_world()
    _, token = make_source(name="hostile", team=world.blue)
    common = {"title": HOSTILE_TITLE, "description": f"{IMG} {SCRIPT} {EXPR} {TAG}",
              "observables": [{"type": "user", "value": SCRIPT}, {"type": "user", "value": f"{EXPR} {TAG}"}]}
    in_case = {**common, "severity": "critical", "confidence": 95,
               "entity": {"type": "hostname", "value": f"ws-{EXPR}-{TAG}"}}
    queued = {**common, "severity": "low", "confidence": 5, "entity": {"type": "user", "value": IMG}}
    ids = [post_alert(live_server_url, token, payload) for payload in (in_case, queued)]

    def processed():
        return Alert.objects.filter(pk__in=ids, processing=Alert.Processing.DONE).count() == 2

    wait_until(lambda: off_loop(processed), timeout=120, message="the worker to process the hostile alerts")
    case = off_loop(lambda: Alert.objects.select_related("case").get(pk=ids[0]).case)
    assert case is not None and case.title.startswith(SCRIPT)
    return world, case


def post_alert(base: str, token: str, payload: dict) -> int:
    request = urllib.request.Request(f"{base}/api/v1/alerts", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        pytest.fail(f"{exc.code}: {exc.read()[:500]}")
    with response:
        assert response.status == 202
        return json.loads(response.read())["alerts"][0]["id"]


def watched_page(browser, events: list):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Runs before any page script, CSP or not (Playwright injects it through the DevTools protocol).
    context.add_init_script("""
        document.addEventListener('securitypolicyviolation',
            e => (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI));
    """)
    page = context.new_page()
    page.on("dialog", lambda dialog: (events.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda exc: events.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: events.append(f"console: {msg.text}")
            if "Content Security Policy" in msg.text else None)
    return page


def assert_inert(page, where: str):
    assert page.evaluate("typeof window.__pwned") == "undefined", where
    text = page.locator("body").inner_text()
    assert SCRIPT in text and EXPR in text, where  # shown literally, as text
    assert not re.search(r"49\s+\{%|\b49 beacon", text), where  # the template syntax was not evaluated


def test_hostile_alert_strings_render_inert_in_chromium(live_server_url, hostile_world, browser):
    world, case = hostile_world
    events: list[str] = []
    page = watched_page(browser, events)
    log_in(page, live_server_url, "lead")

    page.goto(f"{live_server_url}/alerts/")
    assert_inert(page, "alert queue")
    assert IMG in page.locator("tbody").inner_text()  # the entity of the queued alert, as text
    assert page.locator("tbody img").count() == 0

    page.goto(f"{live_server_url}/")
    assert_inert(page, "case queue")
    assert page.locator("tr.case-row td.title a", has_text=SCRIPT).count() == 1

    page.goto(f"{live_server_url}/cases/{case.pk}/")
    assert_inert(page, "case page")
    assert page.locator("#case-title").inner_text() == HOSTILE_TITLE
    assert TAG in page.locator("body").inner_text()
    assert page.locator("main script:not([src])").count() == 0 and page.locator("main img[src=x]").count() == 0
    assert events == []


CSP_PAGES = ["/", "/alerts/", "/cases/{case}/", "/reports/", "/playbooks/approvals/", "/api/docs/",
             "/admin/", "/admin/cases/case/", "/admin/cases/case/{case}/change/"]


def test_pages_run_under_the_production_csp_without_violations(service_factory, hostile_world, browser):
    world, case = hostile_world
    web = service_factory("web", name="web-csp", SOAR_CSP_ENABLED="1")
    events: list[str] = []
    page = watched_page(browser, events)
    log_in(page, web.url, "root")
    for template in CSP_PAGES:
        path = template.format(case=case.pk)
        response = page.goto(f"{web.url}{path}")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        if path == "/api/docs/":
            page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)  # the UI did start
        else:
            page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__csp || []")
        assert violations == [], (path, violations)
        assert page.evaluate("typeof window.__pwned") == "undefined", path
    assert events == [], events
