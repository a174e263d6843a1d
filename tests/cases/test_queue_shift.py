"""The queue for a shift: open cases by default, age and SLA countdown columns, sort headers that
keep the filters, saved views (validated, private unless shared with a team), skip links."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import saved_views, services
from cases.models import Case, SavedView
from cases.templatetags.cases_ui import sla_countdown
from soar.errors import InvalidInput, NotFound
from tests.factories import build_world, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    w = build_world()
    w.closed = services.open_case(title="Old closed phish", severity="low", team=w.blue)
    Case.objects.filter(pk=w.closed.pk).update(status="CLOSED", closed_at=timezone.now())
    return w


def test_queue_shows_open_cases_by_default_and_all_on_request(client, w):
    client.force_login(w.analyst)
    default = client.get("/").content.decode()
    assert "Blue phishing wave" in default and "Old closed phish" not in default
    assert "Open cases only" in default
    everything = client.get("/?status=all").content.decode()
    assert "Blue phishing wave" in everything and "Old closed phish" in everything
    assert "Open cases only" not in everything
    closed = client.get("/?status=CLOSED").content.decode()
    assert "Old closed phish" in closed and "Blue phishing wave" not in closed
    assert "Old closed phish" in client.get("/?is_open=false").content.decode()
    # The API keeps its own default (no filter): only the page changed.
    assert len(client.get("/api/v1/cases?status=CLOSED").json()["results"]) == 1
    assert len(client.get("/api/v1/cases").json()["results"]) == 2


def test_age_and_sla_countdown_columns(client, w):
    now = timezone.now()
    Case.objects.filter(pk=w.blue_case.pk).update(sla_ack_due=now + timedelta(minutes=40, seconds=30),
                                                  created_at=now - timedelta(hours=3))
    late = services.open_case(title="Late one", severity="high", team=w.blue)
    Case.objects.filter(pk=late.pk).update(triaged_at=now - timedelta(hours=3), status="TRIAGED",
                                           sla_resolve_due=now - timedelta(hours=2, seconds=20))
    client.force_login(w.analyst)
    html = client.get("/").content.decode()
    assert "in 40 min" in html and "missed 2 h ago" in html
    assert "3 h ago" in html  # the age of the Blue case, from created_at
    assert "Acknowledge due" in html and "Resolve due" in html
    closed = Case.objects.get(pk=w.closed.pk)
    assert str(sla_countdown(closed)) in ('<span class="sla-countdown sla-met">met</span>',
                                          '<span class="sla-countdown sla-breached">missed</span>')


def test_sort_headers_link_keep_filters_and_mark_the_active_column(client, w):
    client.force_login(w.analyst)
    html = client.get("/?severity=high&sort=severity&page=2").content.decode()
    severity_th = re.search(r'<th scope="col" aria-sort="(\w+)"><a class="sort" href="([^"]+)">Severity', html)
    assert severity_th and severity_th.group(1) == "descending"
    sla_th = re.search(r'<th scope="col" aria-sort="(\w+)"><a class="sort" href="([^"]+)">SLA', html)
    assert sla_th.group(1) == "none"
    href = sla_th.group(2).replace("&amp;", "&")
    assert "severity=high" in href and "sort=sla" in href and "page=" not in href
    age = client.get("/?sort=newest").content.decode()
    age_th = re.search(r'<th scope="col" aria-sort="(\w+)"><a class="sort" href="([^"]+)">Age<span[^>]*>(.)', age)
    assert age_th.group(1) == "ascending" and "sort=oldest" in age_th.group(2) and age_th.group(3) == "▲"
    oldest = client.get("/?sort=oldest").content.decode()
    assert re.search(r'aria-sort="descending"><a class="sort" href="\?sort=newest">Age', oldest)


def test_skip_links_and_content_target(client, w):
    client.force_login(w.analyst)
    html = client.get("/").content.decode()
    assert html.index('href="#content">Skip to content') < html.index('class="topbar"')
    assert 'href="#case-rows">Skip to the case list' in html
    assert '<main class="container" id="content" tabindex="-1">' in html and 'id="case-rows"' in html
    assert 'href="/me/"' in html  # the user name leads to the preferences
    assert "js/shortcuts.js" in html
    # No filter given: the extra filters are folded away (fewer Tab stops before the cases).
    assert '<details class="more-filters full" id="more-filters">' in html
    assert 'id="more-filters" open' in client.get("/?severity=high").content.decode()


def test_rows_carry_the_shortcut_endpoints_only_for_writers(client, w):
    client.force_login(w.analyst)
    html = client.get("/").content.decode()
    assert f'data-assign-url="/cases/{w.blue_case.pk}/assign"' in html
    assert f'data-transition-url="/cases/{w.blue_case.pk}/transition"' in html
    client.force_login(w.auditor)
    assert "data-assign-url" not in client.get("/").content.decode()


def test_builtin_views_are_tabs_and_the_current_one_is_marked(client, w):
    client.force_login(w.analyst)
    html = client.get("/?assignee=me").content.decode()
    for name in ("My open", "Unassigned critical", "Team Blue open", "All"):
        assert f">{name}" in html
    assert "Team Red open" not in html
    assert re.search(r'href="\?assignee=me" aria-current="page"', html)
    mine = services.open_case(title="Mine", severity="low", team=w.blue)
    services.assign_case(mine, w.analyst, actor=w.analyst)
    assert "Blue phishing wave" not in html and "Mine" in client.get("/?assignee=me").content.decode()


def test_saved_view_is_validated_and_canonical(w):
    view = saved_views.save_view(w.analyst, name="  High   at risk ", query="?sort=sla&severity=high&page=3&q=")
    assert view.name == "High at risk" and view.query == "severity=high&sort=sla"
    again = saved_views.save_view(w.analyst, name="High at risk", query="severity=critical")
    assert again.pk == view.pk and again.query == "severity=critical"  # same name: overwritten
    for bad in ("severity=apocalyptic", "status=WHATEVER", "sort=random", "created_after=yesterday",
                "evil=1", "status=all&status=NEW", "team=abc"):
        with pytest.raises(InvalidInput) as excinfo:
            saved_views.save_view(w.analyst, name="Bad", query=bad)
        assert excinfo.value.field == "query", bad
    with pytest.raises(InvalidInput) as excinfo:
        saved_views.save_view(w.analyst, name=" ", query="")
    assert excinfo.value.field == "name"
    with pytest.raises(InvalidInput) as excinfo:
        saved_views.save_view(w.analyst, name="Red", query="", team_id=w.red.pk)  # not their team
    assert excinfo.value.field == "team"
    assert not SavedView.objects.filter(name="Bad").exists()


def test_saved_views_are_private_unless_shared_with_a_team(client, w):
    private = saved_views.save_view(w.analyst, name="Analyst private", query="severity=high")
    shared = saved_views.save_view(w.analyst, name="Blue shared", query="sort=sla", team_id=w.blue.pk)
    saved_views.save_view(w.red_analyst, name="Red private", query="")

    assert set(saved_views.visible_saved_views(w.mate).values_list("name", flat=True)) == {"Blue shared"}
    assert set(saved_views.visible_saved_views(w.red_analyst).values_list("name", flat=True)) == {"Red private"}
    client.force_login(w.mate)
    html = client.get("/").content.decode()
    assert "Blue shared" in html and "Analyst private" not in html and "Red private" not in html
    # Only the owner deletes; another user's view is a 404, shared or not.
    assert client.post(f"/views/{shared.pk}/delete").status_code == 404
    assert client.post(f"/views/{private.pk}/delete").status_code == 404
    assert SavedView.objects.filter(pk__in=[private.pk, shared.pk]).count() == 2
    with pytest.raises(NotFound):
        saved_views.delete_view(w.mate, shared.pk)
    client.force_login(w.analyst)
    assert client.post(f"/views/{private.pk}/delete")["Location"] == "/"
    assert not SavedView.objects.filter(pk=private.pk).exists()


def test_save_view_from_the_page(client, w):
    client.force_login(w.analyst)
    response = client.post("/views/save", {"name": "Crit", "query": "severity=critical&assignee=none"})
    assert response.status_code == 302 and response["Location"] == "/?assignee=none&severity=critical"
    assert SavedView.objects.get(owner=w.analyst, name="Crit").team is None
    html = client.get(response["Location"]).content.decode()
    assert "View “Crit” saved." in html and re.search(r'aria-current="page" class="active" data-saved-view="\d+">Crit',
                                                     html)
    refused = client.post("/views/save", {"name": "X", "query": "severity=nope"}, HTTP_REFERER="http://testserver/")
    assert refused.status_code == 302 and "cannot be saved" in client.get("/").content.decode()
    assert client.get("/views/save").status_code == 405
    anonymous = client.__class__()
    assert anonymous.post("/views/save", {"name": "A", "query": ""}).status_code == 302  # to the log-in page
    assert not SavedView.objects.filter(name="A").exists()


def test_saved_view_limit(w):
    owner = make_user("collector", roles=["analyst"], teams=[w.blue])
    SavedView.objects.bulk_create([SavedView(owner=owner, name=f"v{n}", query="") for n in range(50)])
    with pytest.raises(InvalidInput):
        saved_views.save_view(owner, name="one more", query="")
    assert saved_views.save_view(owner, name="v1", query="sort=sla").query == "sort=sla"


def test_a_deleted_teams_shared_view_falls_back_to_private(w):
    shared = saved_views.save_view(w.analyst, name="Blue shared", query="sort=sla", team_id=w.blue.pk)
    w.blue.delete()
    shared.refresh_from_db()
    assert shared.team is None
    assert list(saved_views.visible_saved_views(w.analyst)) == [shared]
    assert not saved_views.visible_saved_views(w.mate).exists()
