"""ATT&CK in headless Chromium against a real gunicorn on PostgreSQL: an analyst maps a technique
on the case page (grouped under its tactic, linked to attack.mitre.org), sees it in the matrix,
removes it; an analyst of another team cannot reach the case."""

from __future__ import annotations

import pytest

from enrichment.importers import import_attack_bundle
from tests.attack.conftest import SUBSET
from tests.factories import build_world
from tests.integration.browser import log_in

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    import_attack_bundle(SUBSET.read_text())
    return build_world()


def test_map_a_technique_see_it_in_the_matrix_and_remove_it(live_server_url, world, browser):
    base = live_server_url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "analyst")
    page.goto(f"{base}/cases/{world.blue_case.pk}/")
    page.fill("#attack-technique", "T1059.001")
    page.click("#attack button:has-text('Add')")
    page.wait_for_selector('#attack [data-technique="T1059.001"]')
    panel = page.locator("#attack").inner_text()
    assert "Execution" in panel and "PowerShell" in panel and "added by analyst" in panel
    href = page.locator('#attack [data-technique="T1059.001"] a').first.get_attribute("href")
    assert href == "https://attack.mitre.org/techniques/T1059/001"
    assert "ATT&CK technique T1059.001 PowerShell added" in page.locator("#timeline").inner_text()

    page.goto(f"{base}/reports/attack/")
    assert page.locator('#attack-matrix [data-technique="T1059.001"]').get_attribute("data-cases") == "1"

    page.goto(f"{base}/cases/{world.blue_case.pk}/")
    page.click('#attack [data-technique="T1059.001"] button:has-text("Remove")')
    page.wait_for_selector("#attack >> text=No ATT&CK technique mapped.")
    assert not errors

    other = browser.new_context().new_page()
    log_in(other, base, "redanalyst")
    response = other.goto(f"{base}/cases/{world.blue_case.pk}/")
    assert response is not None and response.status == 404
    other.goto(f"{base}/reports/attack/")
    assert other.locator('#attack-matrix [data-technique="T1059.001"]').count() == 0
