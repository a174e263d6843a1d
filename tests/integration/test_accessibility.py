"""An accessibility check of the main pages: axe-core (vendored, tests/support/axe/) run in
headless Chromium on each page, logged in as the demo roles that use it, in the light and the
dark theme. A serious or critical violation fails the test, with axe's own description."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from alerts.models import Alert, AlertSource
from cases import services
from tests.factories import build_world
from tests.integration.browser import log_in, off_loop

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "support" / "axe" / "axe.min.js"
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
BLOCKING = {"serious", "critical"}


@pytest.fixture
def world():
    w = build_world()
    source = AlertSource.objects.create(name="edr", kind="generic", token_hash="8" * 64, default_team=w.blue)
    w.alert = Alert.objects.create(source=source, title="Credential dumping on ws-alice", severity="critical",
                                   fingerprint="a11y-1", entity_type="hostname", entity_value="ws-alice",
                                   case=w.blue_case, status=Alert.Status.IN_CASE, raw={"rule": {"id": 1}})
    Alert.objects.create(source=source, title="Port scan from 203.0.113.50", severity="low", fingerprint="a11y-2",
                         entity_type="ip", entity_value="203.0.113.50")
    services.add_note(w.blue_case, "Checked **EDR**.", actor=w.analyst)
    return w


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']} at {v['targets']}" for v in result if v["impact"] in BLOCKING]


def screenshot_names(world) -> dict[tuple[str, str], str]:
    """The pages the guides show, taken while the check visits them ((scheme, path) -> file)."""
    return {("light", f"/cases/{world.blue_case.pk}/"): "12-case-page",
            ("light", f"/alerts/{world.alert.pk}/"): "13-alert-page",
            ("light", "/search/?q=203.0.113"): "14-search",
            ("dark", "/"): "15-queue-dark",
            ("light", "/audit/"): "16-audit-log"}


def pages_for(world) -> list[str]:
    return [
        "/",
        "/?status=all&sort=severity",
        f"/cases/{world.blue_case.pk}/",
        "/alerts/",
        f"/alerts/{world.alert.pk}/",
        "/search/?q=203.0.113",
        "/reports/",
        "/playbooks/approvals/",
        "/me/",
    ]


def test_main_pages_have_no_serious_accessibility_violations(live_server_url, world, browser):
    found: dict[str, list[str]] = {}
    shots = off_loop(lambda: screenshot_names(world))
    for username, paths in (("analyst", off_loop(lambda: pages_for(world))), ("auditor", ["/audit/", "/404-page"])):
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        log_in(page, live_server_url, username)
        check(page, live_server_url, paths, found, shots)
    if os.environ.get("SOAR_UPDATE_DOCS_SCREENSHOTS"):
        for name in shots.values():
            shutil.copy(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")
    if found:
        pytest.fail("\n".join(f"{where}: {problem}" for where, problems in found.items() for problem in problems))


def check(page, base: str, paths: list[str], found: dict, shots: dict) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for path in paths:
            response = page.goto(base + path)
            assert response.status == (404 if path == "/404-page" else 200), path
            if (scheme, path) in shots:
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"{shots[scheme, path]}.png"))
            problems = violations(page)
            if problems:
                found[f"{scheme} {path}"] = problems
