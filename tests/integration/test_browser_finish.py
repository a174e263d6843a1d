"""The finishing touches in headless Chromium against a real gunicorn on PostgreSQL: a 404 inside
the layout, the favicon, the dark theme switch surviving a reload, the audit-log page (an
auditor reads it, an analyst gets 403) and the playbook editor marking an invalid line."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

from cases import services
from tests.factories import build_world
from tests.integration.browser import log_in

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVALID = """name: Broken
trigger:
  type: manual
steps:
  - id: first
    type: action
    action: no_such_action
"""


@pytest.fixture
def world():
    w = build_world()
    Group.objects.get_or_create(name="lead")
    services.assign_case(w.blue_case, w.analyst, actor=w.lead)
    return w


def _background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_error_pages_theme_audit_and_playbook_editor(live_server_url, world, browser):
    base = live_server_url
    errors: list[str] = []

    # An analyst: the 404 page has the navigation; the audit log is refused; the theme switch persists.
    analyst = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = analyst.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")
    assert page.request.get(f"{base}/favicon.ico").status == 200  # redirected to static/favicon.svg
    response = page.goto(f"{base}/no-such-page/")
    assert response is not None and response.status == 404
    assert page.locator("nav.mainnav a", has_text="Cases").is_visible()
    assert "Page not found" in page.locator("h1").inner_text()
    response = page.goto(f"{base}/audit/")
    assert response is not None and response.status == 403 and page.locator("nav.mainnav").is_visible()
    assert page.locator("nav.mainnav a", has_text="Audit log").count() == 0

    page.goto(f"{base}/")
    html = page.locator("html")
    assert html.get_attribute("data-theme") == "system"
    light = _background(page)
    # The toggle posts a form: while the next page loads there is a moment with no document
    # element, hence the optional chaining (a plain property read throws there and fails the wait).
    page.click("#theme-toggle")  # system -> light
    page.wait_for_function("document.documentElement?.dataset.theme === 'light'")
    page.click("#theme-toggle")  # light -> dark
    page.wait_for_function("document.documentElement?.dataset.theme === 'dark'")
    dark = _background(page)
    assert dark != light
    page.reload()
    assert html.get_attribute("data-theme") == "dark" and _background(page) == dark
    analyst.close()

    # "Follow the system" with a dark system: dark colours without any choice stored.
    system_dark = browser.new_context(color_scheme="dark")
    page = system_dark.new_page()
    log_in(page, base, "mate")
    assert page.locator("html").get_attribute("data-theme") == "system" and _background(page) == dark
    system_dark.close()

    # An auditor reads the audit log, filtered by object.
    auditor = browser.new_context(viewport={"width": 1280, "height": 900})
    page = auditor.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "auditor")
    page.click("nav.mainnav >> text=Audit log")
    page.wait_for_url(re.compile(r"/audit/$"))
    assert page.locator("tr.audit-row", has_text="Blue phishing wave").count() >= 1
    page.fill("#a-id", str(world.blue_case.pk))
    page.fill("#a-type", "cases.case")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url(re.compile(r"object_id="))
    rows = page.locator("tr.audit-row")
    assert rows.count() >= 1 and rows.filter(has_text="Red lateral movement").count() == 0
    assert "object_id=" in (page.locator("#audit-export-csv").get_attribute("href") or "")
    auditor.close()

    # An admin edits a playbook: the invalid line is marked as they type.
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "root")
    page.goto(f"{base}/admin/playbooks/playbook/add/")
    page.wait_for_selector(".CodeMirror")
    page.evaluate("text => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", INVALID)
    marked = page.locator("#playbook-problems li[data-line='7']")
    marked.wait_for()
    assert "no_such_action" in marked.inner_text()
    assert page.locator(".CodeMirror .pb-error-line").count() >= 1
    # The editor follows the admin's theme: its background is the admin's page background in the
    # light and in the dark scheme, and the YAML tokens change colour with it.
    colours = """() => {
        const style = selector => getComputedStyle(document.querySelector(selector));
        return [style('.CodeMirror').backgroundColor, style('body').backgroundColor,
                style('.CodeMirror .cm-atom, .CodeMirror .cm-string').color];
    }"""
    light_editor, light_body, light_token = page.evaluate(colours)
    page.emulate_media(color_scheme="dark")
    dark_editor, dark_body, dark_token = page.evaluate(colours)
    assert (light_editor, dark_editor) == (light_body, dark_body) and light_editor != dark_editor
    assert light_token != dark_token
    admin.close()

    assert errors == []
