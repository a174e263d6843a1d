"""The theme switch (stored per user, written on <html> by the server) and the audit-log page
(leads, admins and auditors; filters, paging, export links; 403 for analysts)."""

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import AuditLog, UserPreference
from cases.preferences import set_theme
from soar.errors import InvalidInput, NotAuthenticated
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


# --- theme ------------------------------------------------------------------------------------

def test_theme_defaults_to_system_and_cycles_through_the_switch(client, w):
    client.force_login(w.analyst)
    page = client.get("/").content.decode()
    assert '<html lang="en" data-theme="system">' in page and 'value="light"' in page
    for chosen, offered in (("light", "dark"), ("dark", "system"), ("system", "light")):
        response = client.post("/theme", {"theme": chosen, "next": "/?status=NEW"})
        assert response.status_code == 302 and response["Location"] == "/?status=NEW"
        html = client.get("/").content.decode()
        assert f'data-theme="{chosen}"' in html and f'name="theme" value="{offered}"' in html
    assert UserPreference.objects.get(user=w.analyst).theme == "system"
    # Another user's pages are not affected.
    client.force_login(w.mate)
    client.post("/theme", {"theme": "dark"})
    client.force_login(w.analyst)
    assert 'data-theme="system"' in client.get("/").content.decode()


def test_theme_json_answer_and_refusals(client, w):
    client.force_login(w.auditor)  # a display setting of their own: auditors may choose too
    response = client.post("/theme", {"theme": "dark"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json() == {"theme": "dark"}
    assert client.post("/theme", {"theme": "pink"}).status_code == 400
    assert client.get("/theme").status_code == 405
    assert client.post("/theme", {"theme": "light", "next": "https://evil.example/"})["Location"] == "/"
    client.logout()
    assert client.post("/theme", {"theme": "dark"}).status_code == 302  # to the log-in page
    with pytest.raises(InvalidInput):
        set_theme(w.analyst, "")
    with pytest.raises(NotAuthenticated):
        set_theme(None, "dark")


def test_theme_post_needs_csrf(w):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(w.analyst)
    assert strict.post("/theme", {"theme": "dark"}).status_code == 403
    assert not UserPreference.objects.filter(user=w.analyst, theme="dark").exists()


def test_css_has_a_dark_set_for_the_choice_and_for_the_system():
    css = (Path(__file__).resolve().parents[2] / "static/css/soar.css").read_text()
    assert ':root[data-theme="dark"]' in css and "prefers-color-scheme: dark" in css
    assert ':root[data-theme="system"]' in css and "--chart-text" in css


# --- audit log page -----------------------------------------------------------------------------

def test_audit_page_lists_filters_and_links_the_export(client, w):
    services.assign_case(w.blue_case, w.analyst, actor=w.lead)
    services.add_note(w.red_case, "red note", actor=w.red_analyst)
    client.force_login(w.auditor)
    page = client.get("/audit/")
    html = page.content.decode()
    assert page.status_code == 200 and 'href="/audit/"' in html  # nav link
    assert "Blue phishing wave" in html and "Red lateral movement" in html
    by_actor = client.get("/audit/", {"actor": w.red_analyst.pk}).content.decode()
    assert f"on case #{w.red_case.pk}" in by_actor and "Blue phishing wave" not in by_actor
    assert by_actor.count('class="audit-row"') == 1
    assert f"/reports/export/audit.csv?actor={w.red_analyst.pk}" in by_actor
    by_object = client.get("/audit/", {"object_type": "cases.case", "object_id": w.blue_case.pk}).content.decode()
    assert "Blue phishing wave" in by_object and "Red lateral movement" not in by_object
    future = (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert "No entries match" in client.get("/audit/", {"created_at__gte": future}).content.decode()
    bad = client.get("/audit/", {"created_at__gte": "yesterday-ish"}).content.decode()
    assert "created_at__gte" in bad and "No entries match" in bad  # an error, not every row
    # The export link streams the same rows.
    export = client.get(f"/reports/export/audit.csv?actor={w.red_analyst.pk}")
    body = b"".join(export.streaming_content).decode()
    assert export.status_code == 200 and f"on case #{w.red_case.pk}" in body and "Blue phishing wave" not in body


def test_audit_page_pages(client, w):
    for n in range(55):
        services.record_audit("test.entry", w.blue_case, actor=w.admin, after={"n": n})
    client.force_login(w.admin)
    first = client.get("/audit/", {"action": "test.entry"}).content.decode()
    assert first.count('class="audit-row"') == 50 and "Next →" in first
    second = client.get("/audit/", {"action": "test.entry", "page": 2}).content.decode()
    assert second.count('class="audit-row"') == 5 and "← Previous" in second


def test_audit_page_access_by_role(client, w):
    services.add_note(w.red_case, "red note", actor=w.red_analyst)
    services.add_note(w.blue_case, "blue note", actor=w.analyst)
    for user in (w.analyst, w.red_analyst):
        client.force_login(user)
        assert client.get("/audit/").status_code == 403
        assert 'href="/audit/"' not in client.get("/").content.decode()
    client.force_login(w.lead)  # a lead of Blue: Blue's cases and their own actions only
    html = client.get("/audit/").content.decode()
    assert "Blue phishing wave" in html and "Red lateral movement" not in html
    client.logout()
    assert client.get("/audit/").status_code == 302
    assert AuditLog.objects.filter(object_id=str(w.red_case.pk)).exists()
