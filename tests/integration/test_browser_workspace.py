"""The investigation workspace end to end (issue 18) in headless Chromium against a real gunicorn
on PostgreSQL, through the product's own pages and forms only: open a case from a template on the
queue page, set a custom field, work the template's tasks (resolving is refused while the required
one is open), add an observable and flag it as an IOC, upload an evidence file and download it,
map an ATT&CK technique, open the printable report (task, IOC flag, file SHA-256, technique and
custom field on it) and download its PDF; an analyst of another team then gets 404 for the file,
the report (HTML and PDF) and the observable page."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from alerts.models import Observable, ObservableType
from cases.models import Case, CaseTemplate, CustomFieldDefinition, TemplateTask
from enrichment.importers import import_attack_bundle
from evidence.models import EvidenceFile
from tests.attack.conftest import SUBSET
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTENT = b"From: billing@evil-invoices.example\nSubject: Invoice 4711\n\nPlease open the attachment.\n"
SHA256 = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def world():
    import_attack_bundle(SUBSET.read_text())
    w = build_world()
    template = CaseTemplate.objects.create(name="Phishing", title_prefix="[Phishing]", severity="high", tlp="GREEN")
    TemplateTask.objects.create(template=template, position=0, title="Collect the mail", required=True)
    TemplateTask.objects.create(template=template, position=1, title="Purge the mailboxes")
    # Migration alerts/0014 seeds the built-in types, but an earlier transactional test's flush
    # empties the table, and the add-observable form offers only the types it holds.
    ObservableType.objects.update_or_create(key="domain", defaults={"label": "Domain", "built_in": True})
    CustomFieldDefinition.objects.create(key="vendor", label="Impersonated vendor", type="string", order=1)
    return w


@pytest.fixture
def workspace_web(service_factory, tmp_path):
    """gunicorn storing evidence under the test's own directory."""
    return service_factory("web", name="web-workspace", SOAR_EVIDENCE_DIR=str(tmp_path / "evidence")).url


def resolve(page) -> None:
    page.click('[data-transition="RESOLVED"]')
    page.select_option("#resolve-resolution", "true-positive")
    page.fill("#resolve-summary", "Lure reported, mailboxes purged.")
    page.click("[data-resolve-submit]")


def test_the_investigation_workspace_end_to_end(world, workspace_web, browser):
    base = workspace_web
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base, "analyst")

    # Open a case from the template, on the queue page.
    page.click("#new-case summary")
    page.select_option("#new-case-template", label="Phishing")
    page.fill("#new-case-title", "Invoice lure")
    page.click("[data-new-case-submit]")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case_url = page.url
    case = off_loop(lambda: Case.objects.get(title="[Phishing] Invoice lure"))
    assert page.locator("#task-progress").inner_text() == "0/2"

    # A custom field.
    page.click("#fields summary")
    page.fill("#cf-vendor", "Acme Billing")
    page.click("#custom-fields-form button[type=submit]")
    page.wait_for_selector("#custom-field-values [data-custom-field='vendor'] >> text=Acme Billing")

    # The required task blocks resolving; then each task is ticked.
    resolve(page)
    page.wait_for_selector(".msg:has-text('Collect the mail')")
    assert off_loop(lambda: Case.objects.get(pk=case.pk).status) != "RESOLVED"
    for done in (1, 2):
        page.locator('#tasks [data-task-step="done"]').first.click()
        page.wait_for_function(f"document.querySelector('#task-progress')?.textContent === '{done}/2'")

    # An observable, added on the case page, flagged as an IOC.
    page.click("#add-observable summary")
    page.select_option("#add-observable-type", "domain")
    page.fill("#add-observable-value", "evil-invoices.example")
    page.click("#add-observable button[type=submit]")
    page.wait_for_selector(".msg:has-text('evil-invoices.example added')")
    observable = off_loop(lambda: Observable.objects.get(type="domain", value="evil-invoices.example"))
    row = page.locator(f"#observable-{observable.pk}")
    row.wait_for()
    edit = row.locator("xpath=following-sibling::tr[1]")
    edit.locator("summary").click()
    edit.locator('input[name="ioc"]').check()
    edit.locator(f'[data-observable-save="{observable.pk}"]').click()
    page.wait_for_selector(f"#observable-{observable.pk} [data-ioc]")

    # An evidence file, uploaded and downloaded: the same bytes, as an attachment.
    page.set_input_files("#evidence-file", files=[{"name": "lure.eml", "mimeType": "message/rfc822",
                                                   "buffer": CONTENT}])
    page.fill("#evidence-description", "the phishing mail")
    page.click("#evidence-upload")
    page.wait_for_selector("[data-evidence-download]")
    assert SHA256 in page.locator("#evidence").inner_text()
    with page.expect_download() as downloading:
        page.click("[data-evidence-download]")
    download = downloading.value
    assert download.suggested_filename == "lure.eml"
    assert Path(download.path()).read_bytes() == CONTENT
    evidence_id = off_loop(lambda: EvidenceFile.objects.get().pk)
    download_url = f"{base}/evidence/{evidence_id}/download"
    response = page.request.get(download_url)
    assert response.status == 200 and response.body() == CONTENT
    assert response.headers["content-disposition"].startswith("attachment")

    # An ATT&CK technique.
    page.goto(case_url)
    page.fill("#attack-technique", "T1204.002")
    page.click("#attack button:has-text('Add')")
    page.wait_for_selector('#attack [data-technique="T1204.002"]')

    # With the tasks done, the case resolves.
    resolve(page)
    page.wait_for_selector(".pill.st-resolved")
    stored = off_loop(lambda: Case.objects.get(pk=case.pk))
    assert stored.status == "RESOLVED" and stored.custom_fields == {"vendor": "Acme Billing"}

    # The printable report holds all of it; its PDF downloads.
    page.click("[data-case-report]")
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/report/$"))
    tasks = page.locator("#report-tasks").inner_text()
    assert "Collect the mail" in tasks and "Purge the mailboxes" in tasks
    assert page.locator("#report-tasks [data-task-status='done']").count() == 2
    observable_row = page.locator(f'#report-observables [data-observable="{observable.pk}"]')
    assert observable_row.locator("[data-ioc]").inner_text() == "IOC"
    assert "evil-invoices[.]example" in observable_row.inner_text()
    assert SHA256 in page.locator("#report-evidence").inner_text()
    assert "User Execution: Malicious File" in page.locator('#attack [data-technique="T1204.002"]').inner_text()
    assert page.locator('#report-custom-fields [data-custom-field="vendor"] dd').inner_text() == "Acme Billing"
    with page.expect_download() as downloading:
        page.click("[data-report-pdf]")
    assert Path(downloading.value.path()).read_bytes().startswith(b"%PDF")
    assert not errors, errors

    # An analyst of another team reaches none of it.
    outsider = browser.new_context().new_page()
    log_in(outsider, base, "redanalyst")
    assert outsider.request.get(download_url).status == 404
    assert outsider.goto(f"{base}/cases/{case.pk}/report/").status == 404
    assert outsider.request.get(f"{base}/cases/{case.pk}/report.pdf").status == 404
    assert outsider.goto(f"{base}/observables/{observable.pk}/").status == 404
