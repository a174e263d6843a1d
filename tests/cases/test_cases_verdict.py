"""Closing with a verdict: resolve from any open status with a resolution and a summary, the
skipped steps on the timeline, reopening, bulk resolve with one message, the API and the admin."""

import pytest

from cases import services
from cases.models import AuditLog, Case, CaseEvent, Resolution
from cases.services_bulk import bulk_message, bulk_update_cases, merge_cases
from tests.factories import build_world

pytestmark = pytest.mark.django_db
S = Case.Status


@pytest.fixture
def w():
    return build_world()


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_builtin_resolutions_are_seeded_with_the_false_positive_flag():
    rows = {r.slug: r for r in Resolution.objects.all()}
    assert {"true-positive", "false-positive", "benign", "duplicate"} <= set(rows)
    assert rows["false-positive"].counts_as_false_positive and rows["false-positive"].builtin
    assert not rows["true-positive"].counts_as_false_positive


def test_resolve_from_new_records_verdict_and_skipped_steps(w):
    case = services.resolve_case(w.blue_case, resolution="false-positive", summary="Scanner of the IT team.",
                                 actor=w.analyst)
    case.refresh_from_db()
    assert case.status == S.RESOLVED and case.resolution.slug == "false-positive"
    assert case.resolution_summary == "Scanner of the IT team." and case.resolved_by == w.analyst
    # Skipped steps are stamped with the resolve time: MTTA counts the direct resolution as the ack.
    assert case.triaged_at == case.in_progress_at == case.resolved_at
    events = list(case.events.filter(kind=CaseEvent.Kind.STATUS_CHANGED).order_by("id"))
    assert [e.message for e in events[:2]] == ["Triaged (skipped, resolved directly)",
                                               "In progress (skipped, resolved directly)"]
    assert all(e.data["skipped"] for e in events[:2])
    assert events[2].data["resolution"] == "false-positive" and "as False positive" in events[2].message
    assert events[2].data["skipped"] == ["TRIAGED", "IN_PROGRESS"]
    audit = AuditLog.objects.get(action="case.transition", object_id=str(case.pk))
    assert audit.after["resolution"] == case.resolution.pk and audit.after["resolution_summary"]


def test_resolve_keeps_existing_step_times(w):
    case = services.transition_case(w.blue_case, S.TRIAGED, actor=w.analyst)
    triaged_at = case.triaged_at
    case = services.resolve_case(case, resolution="benign", summary="ok", actor=w.analyst)
    assert case.triaged_at == triaged_at and case.in_progress_at == case.resolved_at
    skipped = case.events.filter(data__skipped=True, kind=CaseEvent.Kind.STATUS_CHANGED)
    assert list(skipped.values_list("data__to", flat=True)) == ["IN_PROGRESS"]


@pytest.mark.parametrize("resolution, summary, missing", [
    ("", "text", {"resolution"}), ("false-positive", "  ", {"summary"}), ("", "", {"resolution", "summary"}),
    ("no-such-verdict", "text", {"resolution"}), ("9" * 30, "text", {"resolution"}), ("²", "text", {"resolution"}),
])
def test_verdict_is_required_with_field_errors(w, resolution, summary, missing):
    with pytest.raises(services.InvalidInput) as refused:
        services.resolve_case(w.blue_case, resolution=resolution, summary=summary, actor=w.analyst)
    assert missing <= set(refused.value.body())
    assert Case.objects.get(pk=w.blue_case.pk).status == S.NEW
    assert not CaseEvent.objects.filter(case=w.blue_case, kind=CaseEvent.Kind.STATUS_CHANGED).exists()


def test_retired_resolution_is_refused(w):
    Resolution.objects.filter(slug="benign").update(active=False)
    with pytest.raises(services.InvalidInput, match="retired"):
        services.resolve_case(w.blue_case, resolution="benign", summary="x", actor=w.analyst)


def test_automation_may_resolve_without_a_verdict(w):
    for step in (S.TRIAGED, S.IN_PROGRESS, S.RESOLVED):
        case = services.transition_case(w.blue_case, step, actor=None, actor_label="automation")
    assert case.status == S.RESOLVED and case.resolution is None


def test_reopen_clears_the_verdict_and_keeps_it_on_the_timeline(w):
    case = services.resolve_case(w.blue_case, resolution="true-positive", summary="phish", actor=w.analyst)
    case = services.transition_case(case, S.IN_PROGRESS, actor=w.analyst, reason="new host")
    assert case.resolution is None and case.resolution_summary == "" and case.resolved_by is None
    reopen = case.events.filter(data__reopen=True).get()
    assert reopen.data["previous_resolution"] == "True positive"
    assert case.events.filter(data__resolution="true-positive").exists()


def test_others_and_auditors_cannot_resolve(w):
    for user in (w.red_analyst, w.auditor):
        with pytest.raises(services.NotAllowed):
            services.resolve_case(w.blue_case, resolution="benign", summary="x", actor=user)


def test_merge_gives_the_source_the_duplicate_verdict(w):
    other = services.open_case(title="Same phish", severity="low", team=w.blue)
    merge_cases(other, w.blue_case, actor=w.analyst)
    other.refresh_from_db()
    assert other.resolution.slug == "duplicate" and f"#{w.blue_case.pk}" in other.resolution_summary


# --- bulk -----------------------------------------------------------------------------------------

def test_bulk_resolve_skips_what_cannot_apply_and_says_so_in_one_message(w):
    new = [services.open_case(title=f"n{i}", severity="low", team=w.blue) for i in range(3)]
    closed = services.resolve_case(services.open_case(title="c", severity="low", team=w.blue),
                                   resolution="benign", summary="x", actor=w.analyst)
    closed = services.transition_case(closed, S.CLOSED, actor=w.analyst)
    merged = services.open_case(title="m", severity="low", team=w.blue)
    merge_cases(merged, new[0], actor=w.analyst)
    ids = [c.pk for c in new] + [closed.pk, merged.pk, w.red_case.pk]
    results = bulk_update_cases(w.analyst, ids, "resolve", resolution="false-positive", summary="noise")
    assert [results[c.pk] for c in new] == ["ok", "ok", "ok"]
    assert results[closed.pk] == "already closed" and results[merged.pk] == "read-only (merged)"
    assert results[w.red_case.pk] == "not found"
    assert bulk_message("resolve", results) == (
        f"Resolved 3 cases; skipped 3: #{closed.pk} already closed, #{merged.pk} read-only (merged), "
        f"#{w.red_case.pk} not found")
    assert Case.objects.filter(pk__in=[c.pk for c in new], status=S.RESOLVED,
                               resolution__slug="false-positive").count() == 3


def test_bulk_resolve_needs_the_verdict_once_for_all(w):
    with pytest.raises(services.InvalidInput):
        bulk_update_cases(w.analyst, [w.blue_case.pk], "resolve", resolution="", summary="x")
    with pytest.raises(services.InvalidInput):
        bulk_update_cases(w.analyst, [w.blue_case.pk], "status", status=S.RESOLVED)


def test_bulk_message_lists_at_most_ten_skips():
    results = {i: "already closed" for i in range(1, 13)} | {20: "ok"}
    message = bulk_message("resolve", results)
    assert message.startswith("Resolved 1 case; skipped 12: #1 already closed") and message.endswith("and 2 more")


def test_bulk_page_shows_one_message(w, client):
    client.force_login(w.analyst)
    closed = services.resolve_case(services.open_case(title="c", severity="low", team=w.blue),
                                   resolution="benign", summary="x", actor=w.analyst)
    response = client.post("/cases/bulk", {"ids": [w.blue_case.pk, closed.pk], "action": "resolve",
                                           "resolution": "true-positive", "summary": "confirmed"}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"Resolved 1 case; skipped 1: #{closed.pk} already resolved"]
    missing = client.post("/cases/bulk", {"ids": [w.blue_case.pk], "action": "resolve"},
                          HTTP_REFERER="http://testserver/", follow=True)
    assert "Choose a resolution" in missing.content.decode()
    queue = client.get("/").content.decode()
    assert 'value="resolve"' in queue and 'name="resolution"' in queue and 'value="false-positive"' in queue


# --- pages and API -----------------------------------------------------------------------------------

def test_case_page_resolve_form_resolves_a_new_case(w, client):
    client.force_login(w.analyst)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert f'action="/cases/{w.blue_case.pk}/resolve"' in page and 'value="false-positive"' in page
    refused = client.post(f"/cases/{w.blue_case.pk}/resolve", {"resolution": "benign", "summary": ""},
                          HTTP_REFERER=f"http://testserver/cases/{w.blue_case.pk}/", follow=True)
    assert "Write a short summary" in refused.content.decode()
    response = client.post(f"/cases/{w.blue_case.pk}/resolve", {"resolution": "benign", "summary": "Backup job."},
                           follow=True)
    html = response.content.decode()
    assert "resolved as Benign" in html and 'id="case-verdict"' in html and "Backup job." in html
    assert client.post(f"/cases/{w.red_case.pk}/resolve", {"resolution": "benign", "summary": "x"}).status_code == 404
    client.force_login(w.auditor)
    assert client.post(f"/cases/{w.blue_case.pk}/resolve", {"resolution": "benign", "summary": "x"}).status_code == 403


def test_api_transition_and_resolve_need_the_verdict(w, client):
    client.force_login(w.analyst)
    url = f"/api/v1/cases/{w.blue_case.pk}"
    missing = post(client, f"{url}/transition", {"status": "RESOLVED"})
    assert missing.status_code == 400 and {"resolution", "summary"} <= set(missing.json())
    done = post(client, f"{url}/resolve", {"resolution": "false-positive", "summary": "Known scanner"})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "RESOLVED" and body["resolution"] == "false-positive"
    assert body["resolution_summary"] == "Known scanner" and body["resolved_by"] == "analyst"
    assert post(client, f"/api/v1/cases/{w.red_case.pk}/resolve",
                {"resolution": "benign", "summary": "x"}).status_code == 404
    slugs = [r["slug"] for r in client.get("/api/v1/resolutions").json()]
    assert slugs[:4] == ["true-positive", "false-positive", "benign", "duplicate"]
    bulk = post(client, "/api/v1/cases/bulk", {"ids": [w.blue_case.pk], "action": "resolve",
                                                "resolution": "benign", "summary": "x"})
    assert bulk.json()["message"] == f"Resolved 0 cases; skipped 1: #{w.blue_case.pk} already resolved"


def test_openapi_schema_shows_the_verdict_fields(client, w):
    client.force_login(w.analyst)
    text = client.get("/api/schema/").content.decode()
    assert "/api/v1/cases/{id}/resolve" in text and "/api/v1/resolutions" in text
    assert "resolution_summary" in text and "A resolution slug" in text


def test_admin_manages_resolutions_but_cannot_delete_builtins(w, client):
    client.force_login(w.admin)
    response = client.post("/admin/cases/resolution/add/", {"name": "Test traffic", "slug": "test-traffic",
                                                            "counts_as_false_positive": "on", "active": "on",
                                                            "position": "50"})
    assert response.status_code == 302
    assert Resolution.objects.get(slug="test-traffic").counts_as_false_positive
    assert AuditLog.objects.filter(action="resolution.create").exists()
    builtin = Resolution.objects.get(slug="benign")
    assert client.get(f"/admin/cases/resolution/{builtin.pk}/delete/").status_code == 403
    changelist = client.post("/admin/cases/case/", {
        "action": "move_to_resolved", "_selected_action": [w.blue_case.pk], "resolution": "test-traffic",
        "summary": "pentest"}, follow=True)
    assert changelist.status_code == 200
    assert Case.objects.get(pk=w.blue_case.pk).resolution.slug == "test-traffic"


def test_missing_builtins_come_back_after_migrate_without_undoing_admin_changes():
    from cases.resolutions_setup import ensure_builtin_resolutions

    Resolution.objects.filter(slug="benign").update(name="Benign activity", active=False)
    Resolution.objects.filter(slug="duplicate").delete()
    assert ensure_builtin_resolutions() == 1
    benign = Resolution.objects.get(slug="benign")
    assert benign.name == "Benign activity" and not benign.active
    assert Resolution.objects.get(slug="duplicate").builtin
