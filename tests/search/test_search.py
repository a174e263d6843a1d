"""Find anything (search app) and the case queue's text filter: what matches, grouping, and
that another team's objects never show, not even in the counts."""

import re

import pytest

from alerts.models import Alert, AlertSource, Observable
from cases import services
from search import selectors
from tests.factories import build_world

pytestmark = pytest.mark.django_db
IP = "203.0.113.145"


@pytest.fixture
def w():
    w = build_world()
    w.blue_source = AlertSource.objects.create(name="blue-siem", kind="generic", token_hash="b" * 64,
                                               default_team=w.blue)
    w.red_source = AlertSource.objects.create(name="red-siem", kind="generic", token_hash="r" * 64,
                                              default_team=w.red)
    # Blue case: the IP only as an observable (its title does not name it).
    ip = Observable.objects.create(type="ip", value=IP, value_hash=Observable.digest(IP))
    w.blue_case.observables.add(ip)
    w.blue_alert = Alert.objects.create(source=w.blue_source, title="Outbound beacon", severity="high",
                                        fingerprint="f1", entity_type="ip", entity_value=IP, case=w.blue_case,
                                        status=Alert.Status.IN_CASE)
    services.add_note(w.blue_case, f"Firewall shows {IP} talking to the mail server", actor=w.analyst)
    # Red team: the same IP everywhere; a blue analyst must see none of it.
    red_ip = Observable.objects.create(type="ip", value=f"{IP}9", value_hash=Observable.digest(f"{IP}9"))
    w.red_case.observables.add(red_ip)
    w.red_case.description = f"Red-only description naming {IP}"
    w.red_case.save()
    services.add_note(w.red_case, f"Red secret note about {IP}", actor=w.red_analyst)
    Alert.objects.create(source=w.red_source, title=f"Red queued scan from {IP}", severity="low",
                         fingerprint="f2", entity_value=IP)
    return w


def _count(html: str, kind: str) -> str:
    match = re.search(rf'data-count="{kind}">([^<]+)<', html)
    assert match, kind
    return match.group(1)


def test_an_ip_only_in_an_observable_finds_its_case_from_the_queue_and_the_top_bar(client, w):
    client.force_login(w.analyst)
    queue = client.get("/", {"q": IP}).content.decode()
    assert "Blue phishing wave" in queue and "Red lateral movement" not in queue
    prefix = client.get("/", {"q": "203.0.113."}).content.decode()
    assert "Blue phishing wave" in prefix
    page = client.get("/search/", {"q": IP})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="/cases/{w.blue_case.pk}/"' in html
    assert f'href="/alerts/{w.blue_alert.pk}/"' in html
    assert "Firewall shows" in html and "203[.]0[.]113[.]145" in html
    assert 'id="top-search"' in html  # the box is in the top bar of every page
    assert 'id="top-search"' in client.get("/").content.decode()


def test_results_are_grouped_with_counts(client, w):
    found = selectors.search(w.analyst, IP)
    by_kind = {g.kind: g for g in found.groups}
    assert list(by_kind) == ["cases", "alerts", "observables", "notes"]
    assert [c.pk for c in by_kind["cases"].items] == [w.blue_case.pk]
    assert [a.pk for a in by_kind["alerts"].items] == [w.blue_alert.pk]
    assert [o.value for o in by_kind["observables"].items] == [IP]
    assert [n["pk"] for n in by_kind["notes"].items] == [w.blue_case.pk]
    assert found.total == 4
    client.force_login(w.analyst)
    html = client.get("/search/", {"q": IP}).content.decode()
    assert [_count(html, k) for k in ("cases", "alerts", "observables", "notes")] == ["1", "1", "1", "1"]


def test_another_teams_objects_never_appear_not_even_as_counts(client, w):
    client.force_login(w.analyst)
    html = client.get("/search/", {"q": IP}).content.decode()
    for leak in ("Red lateral movement", "Red-only description", "Red secret note", "Red queued scan",
                 f"{IP}9".replace(".", "[.]")):
        assert leak not in html, leak
    assert found_counts(w.red_analyst) == {"cases": 1, "alerts": 1, "observables": 1, "notes": 1}
    # Admins and auditors read everything (visible_cases / visible_alerts decide, not this app).
    assert found_counts(w.auditor) == {"cases": 2, "alerts": 2, "observables": 2, "notes": 2}
    assert found_counts(w.admin) == found_counts(w.auditor)


def found_counts(user):
    return {g.kind: g.count for g in selectors.search(user, IP).groups}


def test_notes_group_lists_each_matching_note_once(w):
    services.add_note(w.blue_case, "Nothing to see", actor=w.analyst)
    services.add_note(w.blue_case, f"Second mention of {IP}", actor=w.mate)
    notes = {g.kind: g for g in selectors.search(w.analyst, IP).groups}["notes"]
    bodies = sorted(n["notes__body"] for n in notes.items)
    assert notes.count == 2 and bodies == [f"Firewall shows {IP} talking to the mail server",
                                           f"Second mention of {IP}"]


def test_short_text_is_refused_but_a_case_number_works(client, w):
    client.force_login(w.analyst)
    assert "at least 3 characters" in client.get("/search/", {"q": "ab"}).content.decode()
    by_number = selectors.search(w.analyst, f"#{w.blue_case.pk}")
    assert [c.pk for c in by_number.groups[0].items] == [w.blue_case.pk]
    assert selectors.search(w.analyst, f"#{w.red_case.pk}").groups[0].count == 0
    assert client.get("/search/").status_code == 200
    assert client.get("/search/", {"q": "x" * 5000}).status_code == 200


def test_queue_text_filter_matches_each_field_without_duplicating_cases(client, w):
    for n in range(3):
        Alert.objects.create(source=w.blue_source, title=f"dup {n}", severity="low", fingerprint=f"d{n}",
                             entity_value="dup.example.test", case=w.blue_case, status=Alert.Status.IN_CASE)
    w.blue_case.description = "Mailbox rule forwarding to outsider"
    w.blue_case.save()
    client.force_login(w.analyst)
    for text in ("dup.example", "forwarding to outsider", "mail server", IP, "phishing"):
        html = client.get("/", {"q": text}).content.decode()
        assert html.count(f'href="/cases/{w.blue_case.pk}/"') >= 1, text
    from cases.filtersets import CaseFilter
    from cases.selectors import visible_cases
    qs = CaseFilter({"q": "dup.example"}, queryset=visible_cases(w.analyst)).qs
    assert list(qs.values_list("pk", flat=True)) == [w.blue_case.pk]  # one row, not one per alert


def test_search_escapes_what_it_shows(client, w):
    evil = '<script>alert("x")</script>'
    services.add_note(w.blue_case, f"{evil} {IP}", actor=w.analyst)
    client.force_login(w.analyst)
    html = client.get("/search/", {"q": f"{evil}"}).content.decode()
    assert "<script>alert(" not in html and "&lt;script&gt;" in html


def test_search_needs_login(client, w):
    assert client.get("/search/", {"q": IP}).status_code == 302


def test_counts_past_one_page_and_the_cap(w, monkeypatch):
    for n in range(5):
        services.add_note(w.blue_case, f"sweep {n} of {IP}", actor=w.analyst)
    notes = {g.kind: g for g in selectors.search(w.analyst, IP, per_group=2).groups}["notes"]
    assert (notes.count, notes.capped, len(notes.items)) == (6, False, 2)
    monkeypatch.setattr(selectors, "COUNT_CAP", 4)
    notes = {g.kind: g for g in selectors.search(w.analyst, IP, per_group=2).groups}["notes"]
    assert (notes.count, notes.capped) == (4, True)


def test_another_teams_newer_matches_fill_the_candidates_but_never_show(client, w, monkeypatch):
    """The text is looked up first (the newest COUNT_CAP matches), visibility tested after: when
    another team's newer matches fill the candidates, the analyst sees none of them, and the
    group says there may be more ("0+") rather than "none"."""
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for n in range(2):
        services.add_note(w.red_case, f"Newer red sighting {n} of {IP}", actor=w.red_analyst)
        Alert.objects.create(source=w.red_source, title=f"Newer red alert {n}", severity="low",
                             fingerprint=f"nr{n}", entity_value=IP, case=w.red_case, status=Alert.Status.IN_CASE)
    groups = {g.kind: g for g in selectors.search(w.analyst, IP).groups}
    assert (groups["notes"].count, groups["notes"].capped, groups["notes"].items) == (0, True, [])
    assert (groups["alerts"].count, groups["alerts"].capped, groups["alerts"].items) == (0, True, [])
    red = {g.kind: g for g in selectors.search(w.red_analyst, IP).groups}
    assert [n["notes__body"] for n in red["notes"].items] == [f"Newer red sighting {n} of {IP}" for n in (1, 0)]
    client.force_login(w.analyst)
    html = client.get("/search/", {"q": IP}).content.decode()
    assert _count(html, "notes") == "0+" and "Newer red" not in html
    assert "newest 2 matches" in html


def test_like_wildcards_in_the_text_are_literal(w):
    services.add_note(w.blue_case, "Quota at 100% on share_01", actor=w.analyst)
    assert found_counts_of(w.analyst, "100% on share_01")["notes"] == 1
    assert found_counts_of(w.analyst, "share%01")["notes"] == 0
    assert found_counts_of(w.analyst, "100_ on")["notes"] == 0


def found_counts_of(user, text):
    return {g.kind: g.count for g in selectors.search(user, text).groups}
