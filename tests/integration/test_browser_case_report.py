"""The case report in headless Chromium against a real gunicorn on PostgreSQL: from the case page
to the printable report (its print styles load under the site's CSP, the screen-only links are
hidden in print, Chromium prints it to PDF), the PDF download (an attachment with the case's
name, rendered by WeasyPrint in the web process); an analyst of another team gets 404 on both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cases import services as case_services
from cases.models import AuditLog, Case
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    w = build_world()
    Case.objects.filter(pk=w.blue_case.pk).update(tlp="RED")
    case_services.add_note(w.blue_case, "Sender **spoofed**", actor=w.analyst)
    return w


def test_print_the_report_download_its_pdf_and_another_team_is_refused(live_server_url, world, browser):
    base = live_server_url
    case = world.blue_case
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base, "analyst")
    page.goto(f"{base}/cases/{case.pk}/")

    page.click("[data-case-report]")
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/report/$"))
    assert page.locator("#report-title").inner_text() == f"Case #{case.pk}: Blue phishing wave"
    assert page.locator("[data-tlp]").inner_text() == "TLP:RED · PAP:AMBER"
    assert "<strong>spoofed</strong>" in page.locator("#report-notes").inner_html()
    # report.css is applied (the site's CSP allows the stylesheet), and print hides the links.
    assert page.locator(".tlp-banner").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 0)"
    assert page.locator(".report-actions").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".report-actions").is_visible()
    assert page.locator("main").evaluate("e => getComputedStyle(e).page") == "tlp-red"
    printed = page.pdf(format="A4")  # the browser's own "Print to PDF" of the page
    assert printed.startswith(b"%PDF-")
    page.emulate_media(media="screen")

    with page.expect_download() as downloading:
        page.click("[data-report-pdf]")
    download = downloading.value
    assert download.suggested_filename == f"case-{case.pk}-report-blue-phishing-wave.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    formats = off_loop(lambda: list(AuditLog.objects.filter(action="case.report").order_by("id")
                                    .values_list("after__format", flat=True)))
    assert formats == ["html", "pdf"]

    outsider = browser.new_context().new_page()
    log_in(outsider, base, "redanalyst")
    assert outsider.goto(f"{base}/cases/{case.pk}/report/").status == 404
    assert outsider.request.get(f"{base}/cases/{case.pk}/report.pdf").status == 404
    assert not errors, errors
