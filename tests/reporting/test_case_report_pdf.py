"""The case report's PDF: a PDF attachment with a safe file name, whose pages hold the case's
title, its TLP marking in the header and footer of every page and "Page N of M"; and WeasyPrint
fetches nothing but the project's own stylesheets (no network, no local files)."""

import socket

import pytest
from django.test import RequestFactory
from weasyprint.formatting_structure import boxes

from cases.models import Case
from reporting import pdf
from reporting.case_report import build_case_report
from reporting.views_case_report import report_html
from tests.factories import build_world
from tests.support.case_report_data import add_rows, full_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def texts(box) -> list[str]:
    return [child.text for child in box.descendants() if isinstance(child, boxes.TextBox)]


def page_margins(page) -> dict[str, str]:
    return {child.at_keyword: "".join(texts(child)) for child in page._page_box.children
            if isinstance(child, boxes.MarginBox)}


def overflowing(document) -> list[str]:
    """Text that runs past the right edge of the page's content area (a column too narrow)."""
    found = []
    for page in document.pages:
        box = page._page_box
        right = box.margin_width() - box.margin_right
        found += [child.text for child in box.descendants()
                  if isinstance(child, boxes.TextBox) and child.position_x + child.width > right + 1]
    return found


def rendered(world, case, user) -> tuple[object, pdf.StaticOnlyFetcher]:
    request = RequestFactory().get(f"/cases/{case.pk}/report.pdf")
    request.user = user
    fetcher = pdf.StaticOnlyFetcher()
    return pdf.render_document(report_html(build_case_report(user, case.pk), request), fetcher=fetcher), fetcher


def test_the_pdf_is_an_attachment_with_a_safe_name(client, world, no_network):
    case = world.blue_case
    Case.objects.filter(pk=case.pk).update(title='Wire "fraud" ../../etc/passwd\r\nX-Injected: 1 \u00e9t\u00e9')
    client.force_login(world.analyst)
    response = client.get(f"/cases/{case.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and response.content.rstrip().endswith(b"%%EOF")
    disposition = response["Content-Disposition"]
    assert disposition == f'attachment; filename="case-{case.pk}-report-wire-fraud-etcpasswd-x-injected-1-ete.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not no_network


def test_every_page_carries_the_title_the_tlp_marking_and_its_number(world, no_network):
    case = world.blue_case
    Case.objects.filter(pk=case.pk).update(tlp="AMBER+STRICT")
    add_rows(case, world.analyst, 80, start=0)  # several pages
    document, fetcher = rendered(world, case, world.analyst)
    pages = document.pages
    assert len(pages) >= 3
    body = " ".join(" ".join(texts(page._page_box)) for page in pages)
    assert "Blue phishing wave" in body and "Task 79" in body
    for number, page in enumerate(pages, start=1):
        margins = page_margins(page)
        assert margins["@top-right"] == margins["@bottom-right"] == "TLP:AMBER+STRICT"
        assert margins["@bottom-center"] == f"Page {number} of {len(pages)}"
        assert margins["@top-left"] == f"Mini-SOAR report, case #{case.pk}"
    assert fetcher.served == ["css/report.css"] and fetcher.refused == []
    assert overflowing(document) == []
    assert not no_network


def test_a_full_case_fits_the_page_width(world, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "evidence"), "base_url": None}}}
    case = full_case(world)
    document, _ = rendered(world, case, world.analyst)
    body = " ".join(" ".join(texts(page._page_box)) for page in document.pages)
    assert "evil-invoices[.]example" in body and "True positive" in body
    assert overflowing(document) == []


@pytest.mark.parametrize(("tlp", "marking"), [("CLEAR", "TLP:CLEAR"), ("GREEN", "TLP:GREEN"),
                                              ("AMBER", "TLP:AMBER"), ("RED", "TLP:RED")])
def test_each_tlp_has_its_page_marking(world, tlp, marking):
    Case.objects.filter(pk=world.blue_case.pk).update(tlp=tlp)
    document, _ = rendered(world, world.blue_case, world.analyst)
    assert page_margins(document.pages[0])["@top-right"] == marking


def test_external_and_local_urls_are_refused_without_a_connection(no_network):
    fetcher = pdf.StaticOnlyFetcher()
    html = ('<html><head><link rel="stylesheet" href="http://example.invalid/evil.css">'
            '<link rel="stylesheet" href="/static/css/report.css"></head>'
            '<body><h1>Report title</h1><img src="http://169.254.169.254/latest/meta-data">'
            '<img src="file:///etc/passwd"></body></html>')
    document = pdf.render_document(html, fetcher=fetcher)
    assert "Report title" in " ".join(texts(document.pages[0]._page_box))
    assert fetcher.refused == ["http://example.invalid/evil.css", "http://169.254.169.254/latest/meta-data",
                               "file:///etc/passwd"]
    assert fetcher.served == ["css/report.css"]
    assert pdf.html_to_pdf(html).startswith(b"%PDF-")
    assert not no_network


@pytest.mark.parametrize("url", [
    "http://example.invalid/x.css",
    "https://soar-report.invalid.example.com/static/css/report.css",
    "file:///etc/passwd",
    "data:text/css,body{}",
    "https://soar-report.invalid/static/../soar/settings.py",
    "https://soar-report.invalid/static/css/../../soar/settings.css",
    "https://soar-report.invalid/static/css/%2e%2e/%2e%2e/x.css",
    "https://soar-report.invalid/static//etc/x.css",
    "https://soar-report.invalid/static/js/soar.js",
    "https://soar-report.invalid/static/css/missing.css",
    "https://soar-report.invalid/static/css/report.css?x=1",
    "https://soar-report.invalid/other/css/report.css",
])
def test_the_fetcher_serves_only_existing_static_stylesheets(url, no_network):
    fetcher = pdf.StaticOnlyFetcher()
    with pytest.raises(pdf.FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_fetcher_serves_the_report_stylesheet(no_network):
    response = pdf.StaticOnlyFetcher().fetch("https://soar-report.invalid/static/css/report.css")
    assert b"@page" in response.read() and response.content_type == "text/css"
