"""Evidence and observable intelligence in headless Chromium against a real gunicorn on
PostgreSQL: upload a file on the case page, download it (an attachment, byte for byte), flag
one of its hashes as an IOC; an analyst of another team gets 404 on the file and on the
observable page."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from alerts.models import CaseObservable, Observable
from evidence.models import EvidenceFile
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTENT = b"%PDF-1.4\n% phishing attachment sample\n%%EOF\n"


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def evidence_web(service_factory, tmp_path):
    """gunicorn storing evidence under the test's own directory."""
    return service_factory("web", name="web-evidence", SOAR_EVIDENCE_DIR=str(tmp_path / "evidence")).url


def test_upload_download_flag_and_another_team_is_refused(world, evidence_web, browser):
    base = evidence_web
    case_url = f"{base}/cases/{world.blue_case.pk}/"
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")
    page.goto(case_url)

    page.set_input_files("#evidence-file", files=[{"name": "invoice.pdf", "mimeType": "text/html",
                                                   "buffer": CONTENT}])
    page.fill("#evidence-description", "attachment of the phishing mail")
    page.click("#evidence-upload")
    page.wait_for_selector("[data-evidence-download]")
    sha256 = hashlib.sha256(CONTENT).hexdigest()
    assert sha256 in page.locator("#evidence").inner_text()
    assert "application/pdf" in page.locator("#evidence").inner_text()

    with page.expect_download() as downloading:
        page.click("[data-evidence-download]")
    download = downloading.value
    assert download.suggested_filename == "invoice.pdf"
    assert Path(download.path()).read_bytes() == CONTENT

    observable = off_loop(lambda: Observable.objects.get(type="hash", value=sha256))
    row = page.locator(f"#observable-{observable.pk}")
    edit = row.locator("xpath=following-sibling::tr[1]")
    edit.locator("summary").click()
    edit.locator('input[name="ioc"]').check()
    edit.locator('select[name="tlp"]').select_option("red")
    edit.locator(f'[data-observable-save="{observable.pk}"]').click()
    page.wait_for_selector(f"#observable-{observable.pk} [data-ioc]")
    assert "TLP:RED" in page.locator(f"#observable-{observable.pk}").inner_text()
    assert off_loop(lambda: CaseObservable.objects.get(observable=observable).ioc) is True

    evidence_id = off_loop(lambda: EvidenceFile.objects.get().pk)
    outsider = browser.new_context().new_page()
    log_in(outsider, base, "redanalyst")
    assert outsider.goto(f"{base}/evidence/{evidence_id}/download").status == 404
    assert outsider.goto(f"{base}/observables/{observable.pk}/").status == 404
    assert not errors, errors
