"""The analyst pages: queue, case page, alert queue; escaping; query counts per page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertSource, Observable
from cases import services
from cases.models import Case, CaseEvent, Note, Tag
from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.django_db
EVIL = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def w():
    return build_world()


@pytest.fixture
def source(w):
    return AlertSource.objects.create(name="siem", kind="generic", token_hash="2" * 64, default_team=w.blue)


def test_login_logout_and_redirects(client, w):
    assert client.get("/").status_code == 302
    page = client.get("/login/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode()
    response = client.post("/login/", {"username": "analyst", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    queue = client.get("/").content.decode()
    assert "Blue phishing wave" in queue and 'action="/logout/"' in queue
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
    assert "Wrong username" in client.post("/login/", {"username": "analyst", "password": "x"}).content.decode()


def test_queue_filters_sort_and_paginate_from_the_url(client, w):
    client.force_login(w.lead)
    for n in range(55):
        services.open_case(title=f"Bulk case {n:02d}", severity="low", team=w.blue)
    critical = services.open_case(title="Critical ransomware", severity="critical", team=w.blue)
    services.change_tags(critical, add=["ransomware"], actor=w.lead)
    first = client.get("/").content.decode()
    assert "Page 1" in first and "page=2" in first and "57 cases match" in first
    second = client.get("/?page=2").content.decode()
    assert "Blue phishing wave" in second and "Bulk case 00" in second
    by_severity = client.get("/?sort=severity").content.decode()
    positions = [by_severity.index(t) for t in ("Critical ransomware", "Blue phishing wave", "Bulk case")]
    assert positions == sorted(positions)
    filtered = client.get("/?severity=critical&tag=ransomware&q=ransom").content.decode()
    assert "Critical ransomware" in filtered and "Bulk case" not in filtered
    assert 'value="critical" selected' in filtered  # the filter state is kept in the form
    assert "1 case match" in filtered
    assert "No cases match" in client.get("/?status=CLOSED").content.decode()
    assert client.get("/?page=abc&created_after=garbage").status_code == 200


def test_queue_shows_sla_breach_and_severity_badges(client, w):
    Case.objects.filter(pk=w.blue_case.pk).update(sla_ack_due=timezone.now() - timedelta(hours=1))
    client.force_login(w.analyst)
    html = client.get("/").content.decode()
    assert "sla-breached" in html and "sev-high" in html
    assert "Blue phishing wave" in client.get("/?sla=breached").content.decode()
    assert "Blue phishing wave" not in client.get("/?sla=ok").content.decode()


def test_hostile_strings_render_inert_everywhere(client, w, source):
    case = services.open_case(title=EVIL, severity="high", team=w.blue, description=EVIL)
    Alert.objects.create(source=source, title=EVIL, severity="high", fingerprint="e", entity_value=EVIL, case=case)
    Alert.objects.create(source=source, title=EVIL, severity="high", fingerprint="f")
    services.add_note(case, EVIL, actor=w.analyst)
    services.change_tags(case, add=["ok-tag"], actor=w.analyst)
    client.force_login(w.analyst)
    for url in ("/", f"/cases/{case.pk}/", "/alerts/", "/alerts/?status=all"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
    case_page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in case_page  # title, escaped
    assert 'onerror' not in case_page.replace("onerror=alert(1)&gt;", "")


def test_case_page_shows_everything_an_analyst_needs(client, w, source):
    alert = Alert.objects.create(source=source, title="Beacon to C2", severity="high", fingerprint="c",
                                 entity_value="203.0.113.9", case=w.blue_case)
    obs = Observable.objects.create(type="domain", value="c2.example.test", value_hash=Observable.digest("c2"))
    w.blue_case.observables.add(obs)
    services.add_note(w.blue_case, "**bold** note", actor=w.analyst)
    services.change_tags(w.blue_case, add=["apt"], actor=w.analyst)
    client.force_login(w.analyst)
    html = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    for expected in ("Beacon to C2", "c2[.]example[.]test", "<strong>bold</strong>", "apt", 'id="timeline"',
                     'id="enrichment-panel"', 'id="playbook-panel"', 'name="assignee"', "Case opened"):
        assert expected in html, expected
    assert alert.pk
    client.force_login(w.auditor)
    read_only = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert "Read-only" in read_only and 'data-transition=' not in read_only and 'id="note-body"' not in read_only


def test_case_page_actions_work_end_to_end(client, w):
    client.force_login(w.analyst)
    url = f"/cases/{w.blue_case.pk}"
    assert client.post(f"{url}/notes", {"body": "first look"}).status_code == 302
    client.post(f"{url}/assign", {"assignee": "me"})
    client.post(f"{url}/transition", {"status": "TRIAGED"})
    client.post(f"{url}/tags", {"add": "phish, vip"})
    client.post(f"{url}/tags", {"remove": ["vip"]})
    client.post(f"{url}/update", {"severity": "critical"})
    client.post(f"{url}/share", {"user": "redanalyst"})
    case = Case.objects.get(pk=w.blue_case.pk)
    assert case.assignee == w.analyst and case.status == "TRIAGED" and case.severity == "critical"
    assert list(case.tags.values_list("name", flat=True)) == ["phish"]
    assert Note.objects.filter(case=case, body="first look").exists()
    response = client.post(f"{url}/transition", {"status": "CLOSED"}, follow=True)
    assert "cannot go from Triaged to Closed" in response.content.decode()
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == ["created", "note", "assigned", "status_changed", "tagged", "tagged", "severity_changed",
                     "shared"]


def test_bulk_from_the_queue_keeps_the_filters(client, w):
    client.force_login(w.lead)
    second = services.open_case(title="Second", severity="low", team=w.blue)
    response = client.post("/cases/bulk", {"ids": [w.blue_case.pk, second.pk, w.red_case.pk], "action": "status",
                                           "status": "TRIAGED", "next": "/?severity=low"})
    assert response.status_code == 302 and response["Location"] == "/?severity=low"
    assert Case.objects.filter(status="TRIAGED").count() == 2
    assert Case.objects.get(pk=w.red_case.pk).status == "NEW"
    evil = client.post("/cases/bulk", {"ids": [second.pk], "action": "tag", "tags": "x", "next": "https://evil.test/"})
    assert evil["Location"] == "/"


def test_alert_queue_promote_and_attach(client, w, source):
    a1 = Alert.objects.create(source=source, title="Suspicious login", severity="medium", fingerprint="1")
    a2 = Alert.objects.create(source=source, title="Another login", severity="low", fingerprint="2")
    client.force_login(w.analyst)
    page = client.get("/alerts/").content.decode()
    assert "Suspicious login" in page and "Promote to case" in page
    response = client.post("/alerts/promote", {"ids": [a1.pk], "title": ""})
    case = Case.objects.get(alerts=a1)
    assert response["Location"] == f"/cases/{case.pk}/" and case.team == w.blue
    response = client.post("/alerts/attach", {"ids": [a2.pk], "case_id": str(case.pk)})
    assert Alert.objects.get(pk=a2.pk).case == case
    refused = client.post("/alerts/attach", {"ids": [a2.pk], "case_id": str(w.red_case.pk)}, follow=True)
    assert "No such case" in refused.content.decode()
    empty = client.post("/alerts/promote", {"ids": []}, follow=True)
    assert "Select at least one alert" in empty.content.decode()


# --- query counts: pages must not issue a query per row -----------------------------------

def make_cases(w, count, offset=0):
    tags = [Tag.objects.get_or_create(name=f"t{n}")[0] for n in range(3)]
    cases = Case.objects.bulk_create([
        Case(title=f"Case {offset + n}", severity="high", team=w.blue, assignee=w.analyst)
        for n in range(count)
    ])
    through = Case.tags.through
    through.objects.bulk_create([through(case_id=c.pk, tag_id=t.pk) for c in cases for t in tags])
    return cases


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_queue_query_count_does_not_grow_with_rows(client, w, django_assert_max_num_queries):
    client.force_login(w.analyst)
    client.get("/")  # the process's first request also looks for enabled pull connectors (embedded sweep)
    make_cases(w, 3)
    one_page = count_queries(client, "/")
    make_cases(w, 60, offset=3)
    few = count_queries(client, "/")
    make_cases(w, 60, offset=63)
    many = count_queries(client, "/")
    assert many == few == one_page + 1  # only a queue longer than a page counts its rows
    # The layout's own: session, user, preferences, groups, the two navigation badges; the
    # filter form's custom field definitions.
    with django_assert_max_num_queries(18):
        client.get("/?sort=severity&tag=t1&status=NEW")


def test_case_page_query_count_does_not_grow_with_alerts_events_notes(client, w, source,
                                                                      django_assert_max_num_queries):
    client.force_login(w.analyst)
    case = w.blue_case

    def grow(n, start):
        Alert.objects.bulk_create([Alert(source=source, title=f"A{start + i}", severity="low", fingerprint=str(i),
                                         case=case) for i in range(n)])
        CaseEvent.objects.bulk_create([CaseEvent(case=case, kind="note", message=f"m{i}", actor=w.analyst)
                                       for i in range(n)])
        Note.objects.bulk_create([Note(case=case, author=w.analyst, body=f"n{i}") for i in range(n)])
        obs = Observable.objects.bulk_create([Observable(type="ip", value=f"10.1.{start}.{i}",
                                                         value_hash=Observable.digest(f"{start}.{i}"))
                                              for i in range(n)])
        case.observables.add(*obs)

    grow(2, 0)
    few = count_queries(client, f"/cases/{case.pk}/")
    grow(40, 1)
    many = count_queries(client, f"/cases/{case.pk}/")
    assert many == few
    with django_assert_max_num_queries(40):
        client.get(f"/cases/{case.pk}/")


def test_alert_queue_query_count_does_not_grow_with_rows(client, w, source, django_assert_max_num_queries):
    client.force_login(w.analyst)
    Alert.objects.bulk_create([Alert(source=source, title=f"Q{i}", severity="low", fingerprint=str(i))
                               for i in range(3)])
    one_page = count_queries(client, "/alerts/")
    Alert.objects.bulk_create([Alert(source=source, title=f"P{i}", severity="low", fingerprint=str(i))
                               for i in range(60)])
    few = count_queries(client, "/alerts/")
    Alert.objects.bulk_create([Alert(source=source, title=f"R{i}", severity="low", fingerprint=str(i),
                                     case=w.blue_case, status="in_case") for i in range(60)])
    Alert.objects.bulk_create([Alert(source=source, title=f"S{i}", severity="low", fingerprint=str(i))
                               for i in range(60)])
    assert count_queries(client, "/alerts/") == few == one_page + 1  # a count only past one page
    with django_assert_max_num_queries(15):
        client.get("/alerts/?status=all")


@pytest.mark.django_db
def test_queue_filter_any_means_no_filter(client):
    from tests.factories import build_world

    client.force_login(build_world().analyst)
    response = client.get("/?status=&severity=&q=")
    assert response.status_code == 200
    assert b"Select a valid choice" not in response.content


@pytest.mark.django_db
def test_alert_queue_shows_only_queued_alerts_of_the_users_teams(client):
    from tests.factories import build_world

    w = build_world()
    blue_source = AlertSource.objects.create(name="blue-src", kind="generic", token_hash="b" * 64, default_team=w.blue)
    red_source = AlertSource.objects.create(name="red-src", kind="generic", token_hash="r" * 64, default_team=w.red)
    Alert.objects.create(source=blue_source, title="Blue queued probe", severity="low", fingerprint="b1")
    Alert.objects.create(source=red_source, title="Red queued probe", severity="low", fingerprint="r1")
    Alert.objects.create(source=red_source, title="Red alert in blue case", severity="low", fingerprint="r2",
                         case=w.blue_case, status=Alert.Status.IN_CASE)
    client.force_login(w.analyst)
    queue = client.get("/alerts/").content.decode()
    assert "Blue queued probe" in queue and "Red queued probe" not in queue
    assert "Red alert in blue case" not in queue  # not queued
    in_case = client.get("/alerts/?status=in_case").content.decode()
    assert "Red alert in blue case" in in_case and "Red queued probe" not in in_case
