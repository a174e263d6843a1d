"""Case tasks in headless Chromium against a real gunicorn on PostgreSQL: open a case from a
template on the queue page, tick its tasks (resolving is refused while a required one is open),
then resolve it."""

from __future__ import annotations

import re

import pytest

from cases.models import Case, CaseTemplate, TemplateTask
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    w = build_world()
    template = CaseTemplate.objects.create(name="Phishing", title_prefix="[Phishing]", severity="high", tlp="GREEN")
    TemplateTask.objects.create(template=template, position=0, title="Collect the mail", required=True,
                                sla_minutes=30)
    TemplateTask.objects.create(template=template, position=1, title="Purge the mailboxes")
    return w


def test_open_a_case_from_a_template_tick_its_tasks_and_resolve(live_server_url, world, browser):
    base = live_server_url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")

    page.click("#new-case summary")
    page.fill("#new-case-title", "Invoice lure")
    page.click("[data-new-case-submit]")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    assert page.locator("#case-title").inner_text() == "[Phishing] Invoice lure"
    assert page.locator("#task-progress").inner_text() == "0/2"
    assert page.locator("#tasks tr.task").count() == 2

    # Resolving with the required task open is refused, with the task named.
    page.click('[data-transition="RESOLVED"]')
    page.select_option("#resolve-resolution", "true-positive")
    page.fill("#resolve-summary", "Lure reported and purged.")
    page.click("[data-resolve-submit]")
    page.wait_for_selector(".msg:has-text('Collect the mail')")

    for done in (1, 2):  # tick each open task with one click
        page.locator('#tasks [data-task-step="done"]').first.click()
        page.wait_for_function(f"document.querySelector('#task-progress')?.textContent === '{done}/2'")

    page.click('[data-transition="RESOLVED"]')
    page.select_option("#resolve-resolution", "true-positive")
    page.fill("#resolve-summary", "Lure reported and purged.")
    page.click("[data-resolve-submit]")
    page.wait_for_selector(".pill.st-resolved")
    assert "Template Phishing applied" in page.locator("#timeline").inner_text()

    case = off_loop(lambda: Case.objects.get(title="[Phishing] Invoice lure"))
    assert case.status == "RESOLVED" and case.tlp == "GREEN" and case.severity == "high"
    assert off_loop(lambda: list(case.tasks.values_list("status", flat=True))) == ["done", "done"]
    assert not errors, errors
