"""A shift at the keyboard, in headless Chromium against gunicorn on PostgreSQL: few Tab presses
to the first case (skip links), a visible focus ring, j/k/o to open a case, ? for the help
dialog, a to assign to me and t to triage from the queue, / to search, and the time zone of the
preferences page changing how times render."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from cases import services
from cases.models import Case
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
FOCUSED_IS_FIRST_CASE_LINK = "document.activeElement === document.querySelector('tr.case-row td.title a')"


@pytest.fixture
def world():
    w = build_world()
    for n in range(4):
        services.open_case(title=f"Shift case {n}", severity="medium", team=w.blue)
    closed = services.open_case(title="Long closed case", severity="low", team=w.blue)
    Case.objects.filter(pk=closed.pk).update(status="CLOSED")
    return w


def tabs_to_first_case(page) -> int:
    """Key presses from page load to the first case link: Tab, and Enter on the queue's skip link."""
    presses = 0
    while presses < 40 and not page.evaluate(FOCUSED_IS_FIRST_CASE_LINK):
        page.keyboard.press("Tab")
        presses += 1
        if page.evaluate("document.activeElement.getAttribute('href') === '#case-rows'"):
            page.keyboard.press("Enter")
            presses += 1
    return presses


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    if os.environ.get("SOAR_UPDATE_DOCS_SCREENSHOTS"):
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


def row_ids(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("tr.case-row", "rows => rows.map(r => r.dataset.caseId)")]


def test_a_shift_at_the_keyboard(live_server_url, world, browser):
    base = live_server_url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")

    page.goto(f"{base}/")
    assert "Long closed case" not in page.content()  # open cases by default
    ids = row_ids(page)
    assert len(ids) == 5
    assert " EST" in page.locator("tr.case-row time.age").first.get_attribute("title")  # the browser's zone

    presses = tabs_to_first_case(page)
    print(f"{presses} key presses from page load to the first case")
    assert presses <= 8, f"{presses} key presses to reach the first case"
    ring = page.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                         " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()")
    assert ring[0] != "none" and ring[1] >= 2, ring

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.closest('tr').dataset.caseId") == str(ids[1])
    assert page.locator("tr.case-row.kb-selected").get_attribute("data-case-id") == str(ids[1])
    shot(page, "10-queue-keyboard")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(rf"/cases/{ids[1]}/$"))

    page.keyboard.press("?")
    page.wait_for_selector("dialog#shortcut-help[open]")
    assert "Assign the selected case" in page.locator("dialog#shortcut-help").inner_text()
    shot(page, "11-shortcut-help")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog#shortcut-help", state="hidden")

    page.goto(f"{base}/")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the second row
    target = ids[1]
    page.keyboard.press("a")
    page.wait_for_selector(f'tr.case-row[data-case-id="{target}"] td:has-text("analyst")')
    page.keyboard.press("t")  # the reloaded queue keeps the row selected
    page.wait_for_selector(f'tr.case-row[data-case-id="{target}"] .pill.st-triaged')
    case = off_loop(lambda: Case.objects.select_related("assignee").get(pk=target))
    assert case.assignee.username == "analyst" and case.status == "TRIAGED"

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-q"
    page.keyboard.type("jk")  # typed into the box, not taken as shortcuts
    assert page.input_value("#f-q") == "jk" and page.url == f"{base}/"

    page.click("a.username")
    page.wait_for_url(f"{base}/me/")
    page.select_option("#pref-tz", "Asia/Tokyo")
    page.click("#preferences-form button[type=submit]")
    page.wait_for_selector("text=Preferences saved.")
    page.goto(f"{base}/")
    assert " JST" in page.locator("tr.case-row time.age").first.get_attribute("title")
    assert not errors, errors
