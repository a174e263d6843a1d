"""Assignment rules, tags, notes, sharing, merge, bulk actions and SLA on the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertGroup, CorrelationRule, Observable
from cases import selectors, services
from cases.markdown import render_markdown
from cases.models import AuditLog, Case, CaseEvent, Note, SlaTarget
from cases.services_bulk import bulk_update_cases, merge_cases
from tests.factories import build_world

pytestmark = pytest.mark.django_db
S = Case.Status


@pytest.fixture
def w():
    return build_world()


# --- assignment ------------------------------------------------------------------------

def test_analyst_takes_an_unowned_case_and_hands_it_to_a_teammate(w):
    case = services.assign_case(w.blue_case, w.analyst, actor=w.analyst)
    assert case.assignee == w.analyst
    case = services.assign_case(case, w.mate, actor=w.analyst)
    assert case.assignee == w.mate
    event = case.events.filter(kind=CaseEvent.Kind.ASSIGNED).last()
    assert event.message == "Assigned to mate" and event.actor == w.analyst
    assert AuditLog.objects.filter(action="case.assign", before__assignee="analyst", after__assignee="mate").exists()


def test_analyst_cannot_reassign_someone_elses_case_but_a_lead_can(w):
    services.assign_case(w.blue_case, w.mate, actor=w.lead)
    with pytest.raises(services.NotAllowed, match="lead"):
        services.assign_case(w.blue_case, w.analyst, actor=w.analyst)
    assert services.assign_case(w.blue_case, w.analyst, actor=w.lead).assignee == w.analyst


def test_analyst_cannot_push_an_unowned_case_onto_a_teammate(w):
    with pytest.raises(services.NotAllowed):
        services.assign_case(w.blue_case, w.mate, actor=w.analyst)


def test_assignee_must_belong_to_the_case_team(w):
    with pytest.raises(services.InvalidInput, match="not a member"):
        services.assign_case(w.blue_case, w.red_analyst, actor=w.lead)


def test_lead_moves_case_only_to_own_teams(w):
    with pytest.raises(services.NotAllowed):
        services.set_case_team(w.blue_case, w.red, actor=w.lead)
    w.red.members.add(w.lead)
    services.assign_case(w.blue_case, w.analyst, actor=w.lead)
    case = services.set_case_team(w.blue_case, w.red, actor=w.lead)
    assert case.team == w.red and case.assignee is None  # analyst is not in Red
    with pytest.raises(services.NotAllowed):
        services.set_case_team(w.red_case, w.blue, actor=w.red_analyst)


# --- tags and notes -----------------------------------------------------------------------

def test_tags_are_added_removed_and_validated(w):
    services.change_tags(w.blue_case, add=["phishing", "vip", "phishing"], actor=w.analyst)
    assert sorted(w.blue_case.tags.values_list("name", flat=True)) == ["phishing", "vip"]
    services.change_tags(w.blue_case, remove=["vip"], actor=w.analyst)
    assert list(w.blue_case.tags.values_list("name", flat=True)) == ["phishing"]
    assert w.blue_case.events.filter(kind=CaseEvent.Kind.TAGGED).count() == 2
    with pytest.raises(services.InvalidInput):
        services.change_tags(w.blue_case, add=["<script>"], actor=w.analyst)


def test_note_is_stored_raw_and_rendered_sanitized(w):
    body = "**Found** it <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
    note = services.add_note(w.blue_case, body, actor=w.analyst)
    assert Note.objects.get(pk=note.pk).body == body
    html = render_markdown(body)
    assert "<strong>Found</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html and "<img" not in html
    assert w.blue_case.events.filter(kind=CaseEvent.Kind.NOTE, data__note_id=note.pk).exists()
    with pytest.raises(services.InvalidInput):
        services.add_note(w.blue_case, "   ", actor=w.analyst)


# --- sharing ---------------------------------------------------------------------------------

def test_sharing_grants_guardian_object_permissions(w):
    assert not selectors.visible_cases(w.red_analyst).filter(pk=w.blue_case.pk).exists()
    services.share_case(w.blue_case, w.red_analyst, actor=w.analyst, can_change=False)
    assert w.red_analyst.has_perm("cases.view_case", w.blue_case)
    assert selectors.get_visible_case(w.red_analyst, w.blue_case.pk) == w.blue_case
    assert not selectors.can_change_case(w.red_analyst, w.blue_case)
    services.share_case(w.blue_case, w.red_analyst, actor=w.analyst, can_change=True)
    assert selectors.can_change_case(w.red_analyst, w.blue_case)
    services.unshare_case(w.blue_case, w.red_analyst, actor=w.analyst)
    assert not selectors.visible_cases(w.red_analyst).filter(pk=w.blue_case.pk).exists()
    assert AuditLog.objects.filter(action="case.share").exists() and AuditLog.objects.filter(action="case.unshare")


# --- merge ------------------------------------------------------------------------------------

def make_alert(source_case, title="Beacon", severity="high"):
    from alerts.models import AlertSource

    source = AlertSource.objects.first() or AlertSource.objects.create(name="s", kind="generic", token_hash="x" * 64)
    alert = Alert.objects.create(source=source, title=title, severity=severity, fingerprint=title,
                                 case=source_case, status=Alert.Status.IN_CASE)
    obs = Observable.objects.create(type="ip", value=f"10.0.0.{alert.pk}", value_hash=Observable.digest(title))
    alert.observables.add(obs)
    source_case.observables.add(obs)
    return alert, obs


def test_merge_moves_everything_in_one_transaction(w):
    target = services.open_case(title="Target", severity="low", team=w.blue)
    source = w.blue_case
    alert, obs = make_alert(source)
    rule = CorrelationRule.objects.first() or CorrelationRule.objects.create(name="r")
    group = AlertGroup.objects.create(rule=rule, key="ip:x", key_hash="h", first_seen=timezone.now(),
                                      last_seen=timezone.now(), case=source)
    note = services.add_note(source, "seen on two hosts", actor=w.analyst)
    services.change_tags(source, add=["merged-tag"], actor=w.analyst)
    services.share_case(source, w.red_analyst, actor=w.analyst)
    source_events = set(source.events.values_list("pk", flat=True))

    merge_cases(source, target, actor=w.analyst)

    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into == target and source.status == S.CLOSED
    assert Alert.objects.get(pk=alert.pk).case == target
    assert AlertGroup.objects.get(pk=group.pk).case == target
    assert target.observables.filter(pk=obs.pk).exists()
    assert Note.objects.get(pk=note.pk).case == target
    assert source_events <= set(target.events.values_list("pk", flat=True))
    assert target.tags.filter(name="merged-tag").exists()
    assert target.severity == "high"  # raised to the source's
    assert selectors.visible_cases(w.red_analyst).filter(pk=target.pk).exists()  # shares follow
    assert list(source.events.values_list("kind", flat=True)) == [CaseEvent.Kind.MERGED]
    assert AuditLog.objects.filter(action="case.merge", object_id=str(source.pk), after__merged_into=target.pk)
    with pytest.raises(services.InvalidTransition, match="merged into"):
        services.transition_case(source, S.IN_PROGRESS, actor=w.analyst, reason="x")


def test_merge_refuses_self_and_rolls_back_on_refusal(w):
    with pytest.raises(services.InvalidInput):
        merge_cases(w.blue_case, w.blue_case, actor=w.analyst)
    alert, _ = make_alert(w.blue_case)
    with pytest.raises(services.NotAllowed):
        merge_cases(w.blue_case, w.red_case, actor=w.analyst)  # cannot change the Red case
    assert Alert.objects.get(pk=alert.pk).case == w.blue_case
    assert Case.objects.get(pk=w.blue_case.pk).merged_into is None


# --- bulk ---------------------------------------------------------------------------------------

def test_bulk_status_reports_per_case_and_hides_other_teams(w):
    second = services.open_case(title="Second", severity="low", team=w.blue)
    services.transition_case(second, S.TRIAGED, actor=w.analyst)
    results = bulk_update_cases(w.analyst, [w.blue_case.pk, second.pk, w.red_case.pk], "status",
                                status=S.TRIAGED)
    assert results[w.blue_case.pk] == "ok"
    assert results[second.pk] == "already triaged"
    assert results[w.red_case.pk] == "not found"
    assert Case.objects.get(pk=w.red_case.pk).status == S.NEW


def test_bulk_assign_and_tag(w):
    second = services.open_case(title="Second", severity="low", team=w.blue)
    assert set(bulk_update_cases(w.lead, [w.blue_case.pk, second.pk], "assign", assignee=w.mate).values()) == {"ok"}
    assert Case.objects.filter(assignee=w.mate).count() == 2
    bulk_update_cases(w.lead, [w.blue_case.pk, second.pk], "tag", tags=["campaign-7"])
    assert Case.objects.filter(tags__name="campaign-7").count() == 2
    with pytest.raises(services.InvalidInput):
        bulk_update_cases(w.lead, [w.blue_case.pk], "explode")


# --- SLA --------------------------------------------------------------------------------------------

def test_sla_due_times_follow_the_targets_and_severity(w):
    SlaTarget.objects.update_or_create(severity="critical", defaults={"ack_minutes": 10, "resolve_minutes": 60})
    case = services.open_case(title="Ransomware", severity="critical", team=w.blue)
    assert case.sla_ack_due - case.created_at == timedelta(minutes=10)
    assert case.sla_resolve_due - case.created_at == timedelta(minutes=60)
    case = services.update_case(case, actor=w.lead, severity="low")
    low = SlaTarget.objects.get(severity="low")
    assert case.sla_resolve_due - case.created_at == timedelta(minutes=low.resolve_minutes)


def test_sla_defaults_exist_and_breach_is_flagged(w):
    assert SlaTarget.objects.count() == 5
    case = w.blue_case
    Case.objects.filter(pk=case.pk).update(sla_ack_due=timezone.now() - timedelta(minutes=1))
    case.refresh_from_db()
    assert case.sla_breached and case.sla_ack_breached
    assert selectors.visible_cases(w.analyst).filter(selectors.sla_breached_q(), pk=case.pk).exists()
    services.transition_case(case, S.TRIAGED, actor=w.analyst)
    case.refresh_from_db()
    assert case.sla_ack_breached  # acknowledged late stays a breach


def test_update_case_edits_fields_with_timeline(w):
    case = services.update_case(w.blue_case, actor=w.analyst, title="Renamed", description="More")
    assert case.title == "Renamed"
    assert case.events.filter(kind=CaseEvent.Kind.UPDATED).exists()
    with pytest.raises(services.InvalidInput):
        services.update_case(w.blue_case, actor=w.analyst, status="CLOSED")
