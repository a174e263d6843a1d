"""The case lifecycle: one service, an explicit table, the same refusal from API, UI and admin."""

import pytest
from django.utils import timezone

from cases import services
from cases.lifecycle import ALLOWED_TRANSITIONS
from cases.models import AuditLog, Case, CaseEvent
from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.django_db
S = Case.Status


@pytest.fixture
def w():
    return build_world()


def walk(case, actor, *statuses, reason=""):
    for status in statuses:
        verdict = {"resolution": "true-positive", "summary": "Confirmed."} if status == S.RESOLVED else {}
        case = services.transition_case(case, status, actor=actor, reason=reason, **verdict)
    return case


def test_full_lifecycle_sets_every_timestamp_and_writes_timeline_and_audit(w):
    case = walk(w.blue_case, w.analyst, S.TRIAGED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED)
    case.refresh_from_db()
    assert case.status == S.CLOSED
    assert case.created_at <= case.triaged_at <= case.in_progress_at <= case.resolved_at <= case.closed_at
    changes = list(case.events.filter(kind=CaseEvent.Kind.STATUS_CHANGED).order_by("id")
                   .values_list("data__to", flat=True))
    assert changes == ["TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED"]
    audit = AuditLog.objects.filter(action="case.transition", object_id=str(case.pk))
    assert audit.count() == 4
    assert audit.filter(actor=w.analyst, before__status="RESOLVED", after__status="CLOSED").exists()


@pytest.mark.parametrize("start, target", [
    (S.NEW, S.CLOSED), (S.NEW, S.IN_PROGRESS), (S.TRIAGED, S.CLOSED),
    (S.IN_PROGRESS, S.TRIAGED), (S.CLOSED, S.RESOLVED), (S.NEW, S.NEW),
])
def test_invalid_transitions_are_refused_with_a_clear_message(w, start, target):
    Case.objects.filter(pk=w.blue_case.pk).update(status=start)
    with pytest.raises(services.InvalidTransition) as refused:
        services.transition_case(w.blue_case, target, actor=w.analyst)
    assert "cannot go from" in str(refused.value) and Case.Status(target).label in str(refused.value)
    assert Case.objects.get(pk=w.blue_case.pk).status == start


def test_table_covers_every_status():
    assert set(ALLOWED_TRANSITIONS) == set(S.values)


def test_reopen_needs_a_reason_and_clears_resolution(w):
    case = walk(w.blue_case, w.analyst, S.TRIAGED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED)
    with pytest.raises(services.InvalidTransition, match="reason"):
        services.transition_case(case, S.IN_PROGRESS, actor=w.analyst)
    case = services.transition_case(case, S.IN_PROGRESS, actor=w.analyst, reason="beaconing again")
    assert case.status == S.IN_PROGRESS and case.resolved_at is None and case.closed_at is None
    event = case.events.filter(kind=CaseEvent.Kind.STATUS_CHANGED).order_by("id").last()
    assert event.data["reopen"] is True and "beaconing again" in event.message
    reopen = AuditLog.objects.filter(action="case.reopen", object_id=str(case.pk))
    assert reopen.filter(after__reason="beaconing again").exists()


def test_resolved_case_can_be_reopened_directly(w):
    case = walk(w.blue_case, w.analyst, S.TRIAGED, S.IN_PROGRESS, S.RESOLVED)
    case = services.transition_case(case, S.IN_PROGRESS, actor=w.analyst, reason="missed a host")
    assert case.status == S.IN_PROGRESS


def test_service_refuses_users_who_cannot_change_the_case(w):
    for user in (w.red_analyst, w.auditor):
        with pytest.raises(services.NotAllowed):
            services.transition_case(w.blue_case, S.TRIAGED, actor=user)
    # automation (no user) is trusted
    assert services.transition_case(w.blue_case, S.TRIAGED, actor=None, actor_label="automation").status == S.TRIAGED


def test_api_answers_409_for_invalid_transition(w, client):
    client.force_login(w.analyst)
    response = client.post(f"/api/v1/cases/{w.blue_case.pk}/transition", {"status": "CLOSED"},
                           content_type="application/json")
    assert response.status_code == 409
    assert "cannot go from New to Closed" in response.json()["detail"]
    ok = client.post(f"/api/v1/cases/{w.blue_case.pk}/transition", {"status": "TRIAGED"},
                     content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "TRIAGED"
    assert ok.json()["allowed_transitions"] == ["IN_PROGRESS", "RESOLVED"]
    bad = client.post(f"/api/v1/cases/{w.blue_case.pk}/transition", {"status": "DONE"},
                      content_type="application/json")
    assert bad.status_code == 400 and "status" in bad.json()


def test_ui_shows_a_flash_message_for_invalid_transition(w, client):
    client.force_login(w.analyst)
    page = f"http://testserver/cases/{w.blue_case.pk}/"
    response = client.post(f"/cases/{w.blue_case.pk}/transition", {"status": "CLOSED"}, follow=True,
                           HTTP_REFERER=page)
    assert response.status_code == 200
    assert "cannot go from New to Closed" in response.content.decode()
    assert Case.objects.get(pk=w.blue_case.pk).status == S.NEW


def test_ui_refusal_without_a_referrer_answers_with_its_status(w, client):
    client.force_login(w.analyst)
    response = client.post(f"/cases/{w.blue_case.pk}/transition", {"status": "CLOSED"})
    assert response.status_code == 409
    assert "cannot go from New to Closed" in response.content.decode()


def test_case_page_offers_only_allowed_transitions(w, client):
    client.force_login(w.analyst)
    html = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert 'data-transition="TRIAGED"' in html and 'data-transition="RESOLVED"' in html  # resolve from NEW
    assert 'name="resolution"' in html and 'name="summary"' in html
    assert 'data-transition="CLOSED"' not in html and 'data-transition="IN_PROGRESS"' not in html
    walk(w.blue_case, w.analyst, S.TRIAGED, S.IN_PROGRESS, S.RESOLVED)
    html = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert 'data-transition="CLOSED"' in html and 'data-transition="IN_PROGRESS"' in html
    assert 'name="reason"' in html  # reopen asks why


def test_admin_status_is_read_only_and_actions_use_the_service(w, client):
    client.force_login(w.admin)
    page = client.get(f"/admin/cases/case/{w.blue_case.pk}/change/").content.decode()
    assert 'name="status"' not in page
    changelist = "/admin/cases/case/"
    response = client.post(changelist, {"action": "move_to_closed", "_selected_action": [w.blue_case.pk],
                                        "reason": ""}, follow=True)
    assert "cannot go from New to Closed" in response.content.decode()
    assert Case.objects.get(pk=w.blue_case.pk).status == S.NEW
    client.post(changelist, {"action": "move_to_triaged", "_selected_action": [w.blue_case.pk]}, follow=True)
    assert Case.objects.get(pk=w.blue_case.pk).status == S.TRIAGED
    assert AuditLog.objects.filter(action="case.transition", actor=w.admin).exists()


def test_admin_reopen_action_takes_the_reason_from_the_action_form(w, client):
    walk(w.blue_case, w.admin, S.TRIAGED, S.IN_PROGRESS, S.RESOLVED)
    client.force_login(w.admin)
    client.post("/admin/cases/case/", {"action": "move_to_in_progress", "_selected_action": [w.blue_case.pk],
                                       "reason": "new evidence"}, follow=True)
    case = Case.objects.get(pk=w.blue_case.pk)
    assert case.status == S.IN_PROGRESS
    assert case.events.filter(data__reason="new evidence").exists()


def test_login_with_password_works(w, client):
    assert client.login(username="analyst", password=PASSWORD)
    assert timezone.now()
