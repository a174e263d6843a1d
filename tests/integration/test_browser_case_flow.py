"""An analyst's day in headless Chromium against a real gunicorn on PostgreSQL: log in,
filter the queue, open a case, note, triage, assign, resolve, close; a user of another team
cannot see the case. Screenshots go to tests/artifacts/screenshots/ (and docs/screenshots/)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from alerts.models import Alert, AlertSource
from cases import services
from cases.models import Case
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def world():
    w = build_world()
    source = AlertSource.objects.create(name="edr", kind="generic", token_hash="9" * 64, default_team=w.blue)
    for n, (title, severity) in enumerate([("Credential dumping on ws-alice", "critical"),
                                           ("Beacon to c2.example.test", "high"),
                                           ("Impossible travel for bob", "medium")]):
        Alert.objects.create(source=source, title=title, severity=severity, fingerprint=f"fp{n}",
                             entity_type="hostname", entity_value="ws-alice.example.com", case=w.blue_case,
                             status=Alert.Status.IN_CASE)
    Alert.objects.create(source=source, title="Port scan from 203.0.113.50", severity="low", fingerprint="q1",
                         entity_type="ip", entity_value="203.0.113.50")
    Alert.objects.create(source=source, title='<script>alert("x")</script> odd title', severity="info",
                         fingerprint="q2")
    for n in range(8):
        case = services.open_case(title=f"Noise case {n}", severity=["low", "medium", "info"][n % 3], team=w.blue)
        if n % 2:
            services.change_tags(case, add=["noise"], actor=w.lead)
    return w


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_analyst_works_a_case_from_queue_to_closed(live_server_url, world, browser):
    base = live_server_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"unexpected dialog: {dialog.message}"))

    page.goto(f"{base}/")
    assert "/login" in page.url
    shot(page, "01-login")
    log_in(page, base, "analyst")
    assert page.locator("tr.case-row").count() == 9  # the Blue case and 8 others; not the Red one
    shot(page, "02-case-queue")

    page.click("#more-filters summary")  # the filters beyond search are folded until one is used
    page.select_option("#f-severity", "high")
    page.click("#case-filters button[type=submit]")
    page.wait_for_url(re.compile(r"severity=high"))
    rows = page.locator("tr.case-row")
    assert rows.count() == 1 and "Blue phishing wave" in rows.first.inner_text()
    shot(page, "03-queue-filtered")

    rows.first.locator("td.title a").click()
    page.wait_for_url(re.compile(rf"/cases/{world.blue_case.pk}/$"))
    assert page.locator("#case-title").inner_text() == "Blue phishing wave"
    assert page.locator("#alerts tbody tr").count() == 3

    page.fill("#note-body", "Checked **EDR**: credential dumping confirmed on ws-alice.")
    page.click("#notes button[type=submit]")
    page.wait_for_selector("#notes .note strong")
    assert "credential dumping confirmed" in page.locator("#notes .note").first.inner_text()

    page.click('[data-transition="TRIAGED"]')
    page.wait_for_selector(".pill.st-triaged")
    page.click("#assign button.btn-link")  # "Assign to me"
    page.wait_for_function("document.querySelector('#case-assignee').textContent === 'analyst'")
    page.click('[data-transition="IN_PROGRESS"]')
    page.wait_for_selector(".pill.st-in_progress")
    shot(page, "04-case-in-progress")
    page.click('[data-transition="RESOLVED"]')  # opens the resolve form: a verdict and a summary
    page.select_option("#resolve-resolution", "true-positive")
    page.fill("#resolve-summary", "Credential dumping confirmed; host isolated.")
    page.click("[data-resolve-submit]")
    page.wait_for_selector(".pill.st-resolved")
    assert page.locator('[data-transition="CLOSED"]').count() == 1
    assert page.locator('[data-transition="TRIAGED"]').count() == 0
    page.click('[data-transition="CLOSED"]')
    page.wait_for_selector(".pill.st-closed")
    timeline = page.locator("#timeline").inner_text()
    for expected in ("Triaged", "Assigned to analyst", "Resolved", "Closed", "credential dumping confirmed"):
        assert expected in timeline
    shot(page, "05-case-closed")

    case = off_loop(lambda: Case.objects.select_related("assignee").get(pk=world.blue_case.pk))
    assert case.status == "CLOSED" and case.assignee == world.analyst and case.closed_at and case.triaged_at

    page.goto(f"{base}/alerts/")
    assert page.locator("tbody tr").count() == 2
    assert page.locator("script:has-text('alert(\"x\")')").count() == 0  # hostile title stays text
    shot(page, "06-alert-queue")

    page.click("text=Log out")
    page.wait_for_url(re.compile(r"/login"))

    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(other, base, "redanalyst")
    assert "Blue phishing wave" not in other.content()
    response = other.goto(f"{base}/cases/{world.blue_case.pk}/")
    assert response.status == 404
    api = other.goto(f"{base}/api/v1/cases/{world.blue_case.pk}")
    assert api.status == 404
    other.goto(f"{base}/")
    shot(other, "07-other-team-queue")
    assert not errors, errors

    if os.environ.get("SOAR_UPDATE_DOCS_SCREENSHOTS"):
        # The guides' pictures are refreshed on request, so a test run leaves the tree clean.
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        for png in SHOTS.glob("0*.png"):
            shutil.copy(png, DOCS_SHOTS / png.name)
