"""The case report's HTML: every section's data, sanitized notes, the case page's links, the
audit entry per download, visibility (another team's analyst gets 404 from the page, the PDF and
the API; auditors read it), the API's format parameter, and a constant number of queries
whatever the size of the case."""

import hashlib
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import techniques as case_techniques
from cases.models import ApiToken, AuditLog, Case, CustomFieldDefinition
from enrichment.importers import import_attack_bundle
from tests.factories import build_world
from tests.support.case_report_data import EVIDENCE_BYTES, add_rows, full_case

pytestmark = pytest.mark.django_db
ATTACK_SUBSET = Path(__file__).resolve().parents[1] / "fixtures" / "attack" / "enterprise-attack-subset.json"


@pytest.fixture
def world(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "evidence"), "base_url": None}}}
    return build_world()


def report_page(client, case):
    response = client.get(f"/cases/{case.pk}/report/")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_the_html_report_holds_every_section(client, world):
    case = full_case(world)
    client.force_login(world.analyst)
    html = report_page(client, case)
    # Summary.
    assert f"Case #{case.pk}:" in html and "Invoice &quot;phish&quot; wave" in html
    for fact in ("Resolved", "High", "Blue", "analyst", "RED", "GREEN", "True positive",
                 "Credential phishing, contained."):
        assert fact in html, fact
    assert 'data-status="RESOLVED"' in html and 'data-tlp="RED"' in html and "tlp-red" in html
    assert "<strong>macro</strong>" in html and "<script>" not in html  # the description, sanitized
    # Tasks: status, assignee, who completed it.
    assert "Collect headers" in html and "Block sender domain" in html and "Identification" in html
    assert "<span data-completed-by>mate</span>" in html and 'data-task-status="todo"' in html
    assert "1/2" in html
    # Observables: defanged, IOC and sighted flags, TLP, verdict, blocklist.
    assert "evil-invoices[.]example" in html and "evil-invoices.example" not in html
    assert "data-ioc" in html and "data-sighted" in html and "TLP:RED" in html and "sender domain" in html
    assert 'data-verdict="malicious"' in html and "data-blocklisted" in html
    # Evidence: the three hashes, size and uploader.
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
        assert digest(EVIDENCE_BYTES).hexdigest() in html
    assert "invoice.pdf" in html and f"{len(EVIDENCE_BYTES)} bytes" in html
    # Notes through the project's markdown, sanitized; the timeline, oldest first.
    assert "<strong>From</strong> spoofed" in html and "<script>alert(2)" not in html
    assert html.index("Case opened") < html.index("Task added: Collect headers")
    # The print styles, and the way back to the case and to the PDF.
    assert "/static/css/report.css" in html
    assert f'href="/cases/{case.pk}/report.pdf"' in html and f'href="/cases/{case.pk}/"' in html


def test_the_report_lists_the_cases_attack_techniques_by_tactic_without_forms(client, world):
    import_attack_bundle(ATTACK_SUBSET.read_text())
    case_techniques.add_technique(world.blue_case, "T1059.001", actor=world.analyst)
    client.force_login(world.analyst)
    html = report_page(client, world.blue_case)
    section = html[html.index('id="attack"'):]
    assert 'data-technique="T1059.001"' in section and "PowerShell" in section and "Execution" in section
    assert "Remove T1059.001" not in html and 'name="technique"' not in html  # the page's forms stay on the page


def test_the_case_page_links_the_report_and_the_pdf(client, world):
    client.force_login(world.analyst)
    page = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert f'href="/cases/{world.blue_case.pk}/report/" data-case-report' in page
    assert f'href="/cases/{world.blue_case.pk}/report.pdf" data-case-report-pdf' in page


def test_each_download_is_audited_with_its_format(client, world):
    client.force_login(world.analyst)
    case = world.blue_case
    report_page(client, case)
    assert client.get(f"/cases/{case.pk}/report.pdf").status_code == 200
    assert client.get(f"/api/v1/cases/{case.pk}/report?format=html").status_code == 200
    entries = AuditLog.objects.filter(action="case.report").order_by("id")
    assert [e.after["format"] for e in entries] == ["html", "pdf", "html"]
    assert {(e.object_type, e.object_id, e.actor_id) for e in entries} == {("cases.case", str(case.pk),
                                                                            world.analyst.pk)}
    assert entries[0].after["tlp"] == "AMBER"


@pytest.mark.parametrize("url", ["/cases/{pk}/report/", "/cases/{pk}/report.pdf", "/api/v1/cases/{pk}/report",
                                 "/api/v1/cases/{pk}/report?format=html", "/api/v1/cases/{pk}/report?format=pdf"])
def test_another_teams_analyst_gets_404_and_nothing_is_audited(client, world, url):
    client.force_login(world.red_analyst)
    assert client.get(url.format(pk=world.blue_case.pk)).status_code == 404
    assert client.get(url.format(pk=999999)).status_code == 404  # the same answer as a missing case
    assert not AuditLog.objects.filter(action="case.report").exists()


def test_auditors_read_reports_and_anonymous_users_do_not(client, world):
    case = world.red_case
    assert client.get(f"/cases/{case.pk}/report/").status_code == 302  # to the log-in page
    assert client.get(f"/cases/{case.pk}/report.pdf").status_code == 302
    assert client.get(f"/api/v1/cases/{case.pk}/report").status_code in (401, 403)
    client.force_login(world.auditor)
    assert "Red lateral movement" in report_page(client, case)
    assert client.get(f"/cases/{case.pk}/report.pdf").status_code == 200


def test_the_api_serves_pdf_by_default_html_on_request_and_refuses_other_formats(client, world):
    _, key = ApiToken.issue_token(world.analyst, scope="read")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    url = f"/api/v1/cases/{world.blue_case.pk}/report"
    pdf = client.get(url, **auth)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"].startswith("attachment;")
    html = client.get(url, {"format": "html"}, **auth)
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert "Blue phishing wave" in html.content.decode()
    refused = client.get(url, {"format": "json"}, **auth)
    assert refused.status_code == 400 and "format" in refused.json()
    assert client.get(f"/api/v1/cases/{world.red_case.pk}/report", **auth).status_code == 404


def test_reports_are_not_cached(client, world):
    client.force_login(world.analyst)
    for url in (f"/cases/{world.blue_case.pk}/report/", f"/cases/{world.blue_case.pk}/report.pdf"):
        assert client.get(url)["Cache-Control"] == "private, no-store"


def test_a_large_case_costs_the_same_number_of_queries_as_a_small_one(client, world):
    case = full_case(world)
    other = world.blue_case  # "seen in other cases" has something to find
    add_rows(other, world.mate, 3, start=0)
    add_rows(case, world.mate, 5, start=0)
    client.force_login(world.analyst)
    report_page(client, case)  # warm the per-process caches (content types, permissions)

    def count() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            html = report_page(client, case)
        return len(queries), html

    small, _ = count()
    add_rows(case, world.mate, 60, start=5)
    large, html = count()
    assert "Task 64" in html and "file-64.bin" in html and "note <strong>64</strong>" in html
    assert "198.51.0.65" in html.replace("[.]", ".") and "event 64" in html
    assert large == small, f"{small} queries for a small case, {large} for a large one"
    assert large <= 30


def test_a_pdf_that_fails_to_render_is_not_audited_as_downloaded(client, world, monkeypatch):
    def broken(html):
        raise RuntimeError("layout failed")

    monkeypatch.setattr("reporting.views_case_report.html_to_pdf", broken)
    client.force_login(world.analyst)
    with pytest.raises(RuntimeError):
        client.get(f"/cases/{world.blue_case.pk}/report.pdf")
    assert not AuditLog.objects.filter(action="case.report").exists()


def test_the_report_shows_the_cases_custom_fields(client, world):
    CustomFieldDefinition.objects.create(key="vendor", label="Vendor", type="string", order=1)
    CustomFieldDefinition.objects.create(key="loss", label="Estimated loss", type="number", order=2)
    CustomFieldDefinition.objects.create(key="retired", label="Retired field", active=False)
    Case.objects.filter(pk=world.blue_case.pk).update(custom_fields={"vendor": "Acme <Corp>", "retired": "x"})
    client.force_login(world.analyst)
    html = report_page(client, world.blue_case)
    section = html[html.index('id="report-custom-fields"'):]
    section = section[:section.index("</dl>")]
    assert 'data-custom-field="vendor"' in section and "Acme &lt;Corp&gt;" in section
    assert 'data-custom-field="loss"' in section and "Estimated loss" in section  # unset: shown as a dash
    assert "Retired field" not in section
