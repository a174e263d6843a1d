"""Closing with a verdict in headless Chromium against a real gunicorn on PostgreSQL: resolve a
NEW case directly with a resolution and a summary, read the skipped steps at the top of the
newest-first timeline, then edit one's own note and see the "edited" marker and its history."""

from __future__ import annotations

import re

import pytest

from cases import services
from cases.models import Case, NoteRevision
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    w = build_world()
    services.record_alerts_attached(w.blue_case.pk, [{"id": 900 + n, "title": f"Beacon {n}", "severity": "high"}
                                                     for n in range(5)])
    return w


def test_resolve_a_new_case_with_a_verdict_and_edit_a_note(live_server_url, world, browser):
    base = live_server_url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")
    page.goto(f"{base}/cases/{world.blue_case.pk}/")
    assert "5 alerts attached" in page.locator("#timeline").inner_text()  # grouped, not five rows

    page.fill("#note-body", "Looks like the **backup** job.")
    page.click("#notes > form button[type=submit]")
    page.wait_for_selector("#notes .note .prose strong")

    page.click('[data-transition="RESOLVED"]')  # "Resolve…" from NEW: no Triage or Start work first
    page.select_option("#resolve-resolution", "false-positive")
    page.fill("#resolve-summary", "Nightly backup to the NAS, not exfiltration.")
    page.click("[data-resolve-submit]")
    page.wait_for_selector(".pill.st-resolved")
    assert page.locator("#case-verdict").inner_text().startswith("False positive")
    entries = page.locator("#timeline ol.timeline > li")
    first_three = [entries.nth(i).inner_text() for i in range(3)]  # newest first
    assert "as False positive" in first_three[0] and "Nightly backup" in first_three[0]
    assert "In progress (skipped, resolved directly)" in first_three[1]
    assert "Triaged (skipped, resolved directly)" in first_three[2]

    note = page.locator("#notes article.note").first
    note.locator("details.note-edit summary").click()
    note.locator("textarea").fill("It is the *nightly* backup job.")
    note.locator("[data-note-save]").click()
    page.wait_for_selector("#notes .badge.edited")
    assert "nightly" in page.locator("#timeline").inner_text()
    page.locator("#notes details.note-history summary").click()
    assert "backup job." in page.locator("#notes .revisions").inner_text()

    page.check('#timeline input[name="timeline"][value="oldest"]')
    page.click("#timeline .timeline-controls button[type=submit]")
    page.wait_for_url(re.compile(r"timeline=oldest"))
    assert "Case opened" in page.locator("#timeline ol.timeline > li").first.inner_text()

    case = off_loop(lambda: Case.objects.select_related("resolution").get(pk=world.blue_case.pk))
    assert case.status == "RESOLVED" and case.resolution.slug == "false-positive"
    assert case.triaged_at == case.in_progress_at == case.resolved_at
    assert off_loop(lambda: NoteRevision.objects.count()) == 1
    assert not errors, errors
