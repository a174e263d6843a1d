"""The case page's timeline (newest first, toggle, grouped alert attachments, kind filters,
rendered notes) and notes edited by their author with their history; a constant number of
queries whatever the timeline's length."""

import re

import pytest

from cases import services
from cases.models import AuditLog, CaseEvent, NoteRevision
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def attach_alerts(case, count, start=1):
    services.record_alerts_attached(case.pk, [{"id": start + i, "title": f"Beacon {start + i}", "severity": "low"}
                                              for i in range(count)])


def timeline_html(client, case, query=""):
    html = client.get(f"/cases/{case.pk}/{query}").content.decode()
    return html[html.index('id="timeline"'):html.index('<aside class="case-side">')]


def test_timeline_is_newest_first_with_an_oldest_first_toggle(w, client):
    services.add_note(w.blue_case, "first note", actor=w.analyst)
    services.transition_case(w.blue_case, "TRIAGED", actor=w.analyst)
    client.force_login(w.analyst)
    html = timeline_html(client, w.blue_case)
    assert html.index("Status: New") < html.index("first note") < html.index("Case opened")
    html = timeline_html(client, w.blue_case, "?timeline=oldest")
    assert html.index("Case opened") < html.index("first note") < html.index("Status: New")
    assert 'value="oldest" checked' in html


def test_alert_attachments_are_grouped(w, client):
    attach_alerts(w.blue_case, 12)
    services.add_note(w.blue_case, "between", actor=w.analyst)
    attach_alerts(w.blue_case, 1, start=50)
    client.force_login(w.analyst)
    html = timeline_html(client, w.blue_case)
    assert "12 alerts attached" in html and "<details" in html
    assert html.count('class="ev ev-alert_attached ev-group"') == 1
    assert html.count("ev-alert_attached") == 2  # the group and the single later attachment


def test_timeline_filters_by_kind_on_the_server(w, client):
    attach_alerts(w.blue_case, 3)
    services.add_note(w.blue_case, "only **this**", actor=w.analyst)
    client.force_login(w.analyst)
    html = timeline_html(client, w.blue_case, "?kind=note")
    assert "only <strong>this</strong>" in html and "alerts attached" not in html and "Case opened" not in html
    assert 'value="note" checked' in html
    html = timeline_html(client, w.blue_case, "?kind=note&kind=created&kind=bogus")
    assert "Case opened" in html and "alerts attached" not in html


def test_notes_on_the_timeline_are_sanitized_markdown(w, client):
    services.add_note(w.blue_case, "**bold** <script>alert(1)</script> [x](javascript:alert(1))", actor=w.analyst)
    client.force_login(w.analyst)
    html = timeline_html(client, w.blue_case)
    assert "<strong>bold</strong>" in html and "<script>alert(1)" not in html and "javascript:" not in html


def test_author_edits_a_note_with_history_audit_and_marker(w, client):
    note = services.add_note(w.blue_case, "first text", actor=w.analyst)
    client.force_login(w.analyst)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert f'action="/cases/{w.blue_case.pk}/notes/{note.pk}/edit"' in page
    response = client.post(f"/cases/{w.blue_case.pk}/notes/{note.pk}/edit", {"body": "second *text*"})
    assert response.status_code == 302 and response["Location"].endswith(f"#note-{note.pk}")
    note.refresh_from_db()
    assert note.body == "second *text*" and note.edited_at is not None
    assert list(NoteRevision.objects.filter(note=note).values_list("body", flat=True)) == ["first text"]
    audit = AuditLog.objects.get(action="case.note.edit", object_id=str(note.pk))
    assert audit.before == {"body": "first text"} and audit.after["body"] == "second *text*"
    assert CaseEvent.objects.filter(case=w.blue_case, data__note_edited=True).exists()
    html = timeline_html(client, w.blue_case)
    assert "second <em>text</em>" in html and "edited" in html
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert "History (1 earlier version)" in page and "first text" in page


def test_others_cannot_edit_a_note(w, client):
    note = services.add_note(w.blue_case, "mine", actor=w.analyst)
    url = f"/cases/{w.blue_case.pk}/notes/{note.pk}/edit"
    client.force_login(w.mate)  # same team, not the author
    assert client.post(url, {"body": "hijack"}).status_code == 403
    assert f'notes/{note.pk}/edit' not in client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    client.force_login(w.red_analyst)  # another team: the case does not exist for them
    assert client.post(url, {"body": "hijack"}).status_code == 404
    client.force_login(w.auditor)
    assert client.post(url, {"body": "hijack"}).status_code == 403
    client.force_login(w.analyst)  # a note id of another case: 404
    red_note = services.add_note(w.red_case, "red", actor=w.red_analyst)
    assert client.post(f"/cases/{w.blue_case.pk}/notes/{red_note.pk}/edit", {"body": "x"}).status_code == 404
    note.refresh_from_db()
    assert note.body == "mine" and not NoteRevision.objects.exists()
    with pytest.raises(services.NotAllowed):
        services.edit_note(note, "hijack", actor=w.mate)
    with pytest.raises(services.InvalidInput):
        services.edit_note(note, "  ", actor=w.analyst)


def test_note_api_edit_and_revisions(w, client):
    note = services.add_note(w.blue_case, "api text", actor=w.analyst)
    client.force_login(w.mate)
    assert client.patch(f"/api/v1/notes/{note.pk}", {"body": "x"}, content_type="application/json").status_code == 403
    client.force_login(w.red_analyst)
    assert client.patch(f"/api/v1/notes/{note.pk}", {"body": "x"}, content_type="application/json").status_code == 404
    client.force_login(w.analyst)
    response = client.patch(f"/api/v1/notes/{note.pk}", {"body": "new"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["body"] == "new" and response.json()["edited_at"]
    revisions = client.get(f"/api/v1/notes/{note.pk}/revisions").json()
    assert [r["body"] for r in revisions] == ["api text"] and revisions[0]["edited_by"] == "analyst"
    newest = client.get(f"/api/v1/cases/{w.blue_case.pk}/timeline?order=newest").json()
    assert newest[0]["data"].get("note_edited") is True


def test_case_page_queries_do_not_grow_with_the_timeline(w, client, django_assert_max_num_queries):
    client.force_login(w.analyst)
    services.add_note(w.blue_case, "one", actor=w.analyst)
    client.get(f"/cases/{w.blue_case.pk}/")  # warm caches (content types, roles)
    with django_assert_max_num_queries(60) as small:
        client.get(f"/cases/{w.blue_case.pk}/")
    for i in range(40):
        note = services.add_note(w.blue_case, f"note {i}", actor=w.analyst)
        services.edit_note(note, f"note {i} edited", actor=w.analyst)
        attach_alerts(w.blue_case, 2, start=100 + i * 2)
    services.transition_case(w.blue_case, "TRIAGED", actor=w.analyst)
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        # Notes only: the 121 entries would need two pages of the timeline (cases.timeline.TIMELINE_PAGE).
        response = client.get(f"/cases/{w.blue_case.pk}/?kind=note")
    assert len(re.findall(r'class="ev ev-note', response.content.decode())) == 41
    assert len(big.captured_queries) == len(small.captured_queries)
