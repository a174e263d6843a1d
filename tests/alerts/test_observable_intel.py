"""Observable intelligence: per-case flags (IOC, sighted, TLP, tags, description), "seen in N
other cases" (visible links only, a constant number of queries, the hidden count only when the
policy allows), similar cases ranked by rarity, and the observable page's visibility."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import observable_intel, observable_services
from alerts.models import Alert, CaseObservable, Observable
from cases import services as case_services
from cases.models import AuditLog, Case, CaseEvent
from enrichment import services as enrichment_services
from soar import errors
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def obs(obs_type, value):
    observable, _ = Observable.objects.get_or_create(type=obs_type, value_hash=Observable.digest(value),
                                                     defaults={"value": value})
    return observable


def blue_case(w, title):
    return case_services.open_case(title=title, severity="low", team=w.blue)


@pytest.fixture
def world():
    return build_world()


def test_flags_are_set_on_the_case_with_timeline_and_audit(client, world):
    ip = obs("ip", "203.0.113.9")
    world.blue_case.observables.add(ip)
    client.force_login(world.analyst)
    response = client.post(f"/observables/{ip.pk}/cases/{world.blue_case.pk}/",
                           {"ioc": "on", "sighted": "on", "tlp": "red", "tags": "c2, beacon, c2",
                            "description": "beaconing every 60 s"})
    assert response.status_code == 302 and response["Location"].endswith(f"#observable-{ip.pk}")
    row = CaseObservable.objects.get(case_id=world.blue_case.pk, observable=ip)
    assert (row.ioc, row.sighted, row.tlp, row.tags, row.description) == (
        True, True, "red", ["c2", "beacon"], "beaconing every 60 s")
    assert row.sighted_at is not None and row.updated_by == world.analyst
    event = CaseEvent.objects.get(case=world.blue_case, data__observable=ip.pk)
    assert "ioc" in event.data["changed"] and "tlp" in event.data["changed"]
    audit = AuditLog.objects.get(action="case.observable_updated")
    assert audit.before["ioc"] is False and audit.after["ioc"] is True
    page = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert "data-ioc" in page and "TLP:RED" in page and "beaconing every 60 s" in page
    # Unticking sighted clears its time; saving the same values again writes no entry.
    observable_services.update_case_observable(world.blue_case, ip.pk, actor=world.analyst, sighted=False)
    row.refresh_from_db()
    assert row.sighted is False and row.sighted_at is None
    before = CaseEvent.objects.count()
    observable_services.update_case_observable(world.blue_case, ip.pk, actor=world.analyst, ioc=True)
    assert CaseEvent.objects.count() == before


def test_flag_refusals(client, world):
    ip = obs("ip", "203.0.113.10")
    world.blue_case.observables.add(ip)
    other = obs("domain", "elsewhere.example")
    with pytest.raises(errors.InvalidInput):
        observable_services.update_case_observable(world.blue_case, ip.pk, actor=world.analyst, tlp="purple")
    with pytest.raises(errors.InvalidInput):
        observable_services.update_case_observable(world.blue_case, ip.pk, actor=world.analyst,
                                                   tags=[f"t{i}" for i in range(30)])
    with pytest.raises(errors.NotFound):
        observable_services.update_case_observable(world.blue_case, other.pk, actor=world.analyst, ioc=True)
    client.force_login(world.red_analyst)
    assert client.post(f"/observables/{ip.pk}/cases/{world.blue_case.pk}/", {"ioc": "on"}).status_code == 404
    client.force_login(world.auditor)
    assert client.post(f"/observables/{ip.pk}/cases/{world.blue_case.pk}/", {"ioc": "on"}).status_code == 403
    assert "Edit flags" not in client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert not CaseObservable.objects.exists()


def test_seen_in_other_cases_links_only_visible_cases_and_counts_hidden_ones_only_if_allowed(world, settings):
    shared = obs("domain", "shared.example")
    lonely = obs("domain", "lonely.example")
    world.blue_case.observables.add(shared, lonely)
    others = [blue_case(world, f"blue {i}") for i in range(7)]
    for case in others:
        case.observables.add(shared)
    world.red_case.observables.add(shared)
    seen = observable_intel.seen_in_other_cases(world.analyst, world.blue_case.pk, [shared.pk, lonely.pk])
    assert seen[shared.pk].visible == 7
    assert seen[shared.pk].case_ids == sorted((c.pk for c in others), reverse=True)[:observable_intel.SEEN_IN_LINKS]
    assert world.red_case.pk not in seen[shared.pk].case_ids and seen[shared.pk].hidden is None
    assert seen[lonely.pk].visible == 0 and seen[lonely.pk].case_ids == []
    settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = True
    seen = observable_intel.seen_in_other_cases(world.analyst, world.blue_case.pk, [shared.pk, lonely.pk])
    assert seen[shared.pk].hidden == 1 and seen[lonely.pk].hidden == 0
    # The red analyst sees only the case of their own team among the others.
    red_seen = observable_intel.seen_in_other_cases(world.red_analyst, world.red_case.pk, [shared.pk])
    assert red_seen[shared.pk].visible == 0 and red_seen[shared.pk].hidden == 8


def test_the_observable_table_takes_a_constant_number_of_queries(client, world, settings):
    settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = True
    other = blue_case(world, "other")

    def add(n, start):
        made = [obs("ip", f"10.{(start + i) // 250}.{(start + i) % 250}.1") for i in range(n)]
        world.blue_case.observables.add(*made)
        other.observables.add(*made)
        world.red_case.observables.add(*made[: n // 2])
        return made

    first = add(10, 0)
    enrichment_services.add_to_blocklist("firewall", "ip", first[0].value, reason="C2", actor_label="t")
    observable_services.update_case_observable(world.blue_case, first[1].pk, actor=world.analyst, ioc=True)
    with CaptureQueriesContext(connection) as few:
        rows = observable_intel.case_observable_rows(world.analyst, world.blue_case)
    assert len(rows) == 10 and len(few) == 4  # observables, attributes, links, their visible cases
    client.force_login(world.analyst)
    with CaptureQueriesContext(connection) as page_few:
        page = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert "data-blocklisted" in page and "data-ioc" in page
    add(190, 10)
    with CaptureQueriesContext(connection) as many:
        rows = observable_intel.case_observable_rows(world.analyst, world.blue_case)
    assert len(rows) == 200 and len(many) == len(few)
    assert all(r.seen.visible == 1 and r.seen.case_ids == [other.pk] for r in rows)
    assert sum(r.seen.hidden for r in rows) == 100
    with CaptureQueriesContext(connection) as page_many:
        assert client.get(f"/cases/{world.blue_case.pk}/").status_code == 200
    assert len(page_many) == len(page_few)


def test_similar_cases_are_ranked_by_rarity_and_visible_only(world):
    rare = obs("hash", "a" * 64)
    common = [obs("ip", "198.51.100.1"), obs("ip", "198.51.100.2")]
    world.blue_case.observables.add(rare, *common)
    shares_rare = blue_case(world, "shares the rare hash")
    shares_rare.observables.add(rare)
    crowd = [blue_case(world, f"crowd {i}") for i in range(5)]
    for case in crowd:
        case.observables.add(*common)
    world.red_case.observables.add(rare, *common)
    ranked = observable_intel.similar_cases(world.analyst, world.blue_case, limit=10)
    assert ranked[0].case == shares_rare and ranked[0].shared == 1
    assert {s.case for s in ranked[1:]} == set(crowd) and all(s.shared == 2 for s in ranked[1:])
    assert ranked[0].score > ranked[1].score
    assert world.red_case not in {s.case for s in ranked}
    assert observable_intel.similar_cases(world.analyst, shares_rare)[0].case == world.blue_case
    lonely = blue_case(world, "lonely")
    assert observable_intel.similar_cases(world.analyst, lonely) == []


def test_the_case_page_shows_similar_cases(client, world):
    rare = obs("hash", "b" * 64)
    world.blue_case.observables.add(rare)
    twin = blue_case(world, "twin case")
    twin.observables.add(rare)
    world.red_case.observables.add(rare)
    client.force_login(world.analyst)
    page = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert f'data-similar="{twin.pk}"' in page and f'data-similar="{world.red_case.pk}"' not in page
    assert "Red lateral movement" not in page


def test_the_observable_page_lists_only_visible_cases_and_alerts(client, world, make_source):
    both = obs("domain", "both.example")
    blue_only = obs("domain", "blue-only.example")
    world.blue_case.observables.add(both, blue_only)
    world.red_case.observables.add(both)
    red_source, _ = make_source(name="red-siem", team=world.red)
    queued = Alert.objects.create(source=red_source, title="Red queued alert", severity="low", fingerprint="f1",
                                  processing=Alert.Processing.DONE)
    queued.observables.add(both)
    client.force_login(world.analyst)
    page = client.get(f"/observables/{both.pk}/").content.decode()
    assert "Blue phishing wave" in page and "Red lateral movement" not in page and "Red queued alert" not in page
    client.force_login(world.red_analyst)
    page = client.get(f"/observables/{both.pk}/").content.decode()
    assert "Red lateral movement" in page and "Red queued alert" in page and "Blue phishing wave" not in page
    assert client.get(f"/observables/{blue_only.pk}/").status_code == 404
    assert client.get("/observables/999999/").status_code == 404
    # An observable known only from a queued alert the user sees is reachable through the alert.
    alert_only = obs("domain", "alert-only.example")
    queued.observables.add(alert_only)
    assert client.get(f"/observables/{alert_only.pk}/").status_code == 200
    client.force_login(world.analyst)
    assert client.get(f"/observables/{alert_only.pk}/").status_code == 404
    client.force_login(world.auditor)
    assert client.get(f"/observables/{blue_only.pk}/").status_code == 200
    assert Case.objects.count() == 2
