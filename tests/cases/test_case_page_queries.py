"""The heavy case page (issue 18 targets): a case with 200 observables (IOC-flagged, seen in
other cases, some of them another team's), 50 tasks, 20 evidence files and 1,000 timeline events
is read in the same number of queries as a case with 5 observables, 2 tasks, 1 file and 10
events; "seen in N other cases" never names a case the analyst may not open; the page renders a
bounded slice of the timeline and of the observables with links to the rest."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import observable_intel
from alerts.models import CaseObservable, Observable
from cases import services as case_services
from cases.models import Case, CaseEvent, CaseTask, Note
from cases.timeline import NOTES_PAGE, TIMELINE_PAGE
from cases.vocabulary import EventKind
from enrichment.models import EnrichmentResult
from evidence.models import EvidenceFile
from tests.factories import build_world

pytestmark = pytest.mark.django_db

KINDS = [EventKind.ALERT_ATTACHED, EventKind.STATUS_CHANGED, EventKind.ASSIGNED, EventKind.TASK,
         EventKind.ENRICHMENT, EventKind.NOTE]


def seed_case(w, case: Case, *, observables: int, tasks: int, files: int, events: int, tag: str) -> None:
    """Fill ``case`` in bulk. Every observable is also in one blue case (visible to the blue
    analyst) and one red case (not visible); every third one is an IOC with a verdict."""
    blue_other = case_services.open_case(title=f"{tag} blue other", severity="low", team=w.blue)
    red_other = case_services.open_case(title=f"{tag} red secret", severity="low", team=w.red)
    created = Observable.objects.bulk_create(
        [Observable(type="ip", value=f"198.51.{len(tag)}.{i}-{tag}", value_hash=Observable.digest(f"{tag}-{i}"))
         for i in range(observables)])
    through = Observable.cases.through
    through.objects.bulk_create([through(observable_id=o.pk, case_id=c.pk)
                                 for o in created for c in (case, blue_other, red_other)])
    CaseObservable.objects.bulk_create([
        CaseObservable(case=case, observable=o, ioc=True, sighted=True, tags=["c2"], description="beacon",
                       updated_by=w.analyst)
        for o in created[::3]])
    EnrichmentResult.objects.bulk_create([
        EnrichmentResult(case=case, observable=o, provider="fake", verdict="malicious",
                         fetched_at=timezone.now()) for o in created[::3]])
    CaseTask.objects.bulk_create([
        CaseTask(case=case, position=i, title=f"task {i}", assignee=w.analyst if i % 2 else w.mate,
                 completed_by=w.mate if i % 3 == 0 else None, status="done" if i % 3 == 0 else "todo")
        for i in range(tasks)])
    EvidenceFile.objects.bulk_create([
        EvidenceFile(case=case, file=f"evidence/{tag}-{i}", name=f"{tag}-{i}.bin", size=10 + i,
                     content_type="application/octet-stream", sha256=f"{i:064x}", sha1="a" * 40, md5="b" * 32,
                     uploaded_by=w.analyst)
        for i in range(files)])
    notes = Note.objects.bulk_create([Note(case=case, author=w.analyst, body=f"note {i}")
                                      for i in range(max(events // len(KINDS), 1))])
    note_ids = iter(n.pk for n in notes)
    CaseEvent.objects.bulk_create([
        CaseEvent(case=case, kind=KINDS[i % len(KINDS)], actor=w.analyst if i % 2 else w.mate,
                  message=f"event {i}",
                  data={"note_id": next(note_ids, 0)} if KINDS[i % len(KINDS)] == EventKind.NOTE else {})
        for i in range(events)])


@pytest.fixture
def world():
    return build_world()


def page_queries(client, case: Case, query: str = "") -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/cases/{case.pk}/{query}")
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_heavy_case_page_reads_as_many_queries_as_a_small_one(client, world):
    small = case_services.open_case(title="Small", severity="low", team=world.blue)
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, small, observables=5, tasks=2, files=1, events=10, tag="s")
    seed_case(world, heavy, observables=200, tasks=50, files=20, events=1000, tag="h")
    client.force_login(world.analyst)
    page_queries(client, small)  # warm the per-process caches (roles, settings) first
    small_count, _ = page_queries(client, small)
    heavy_count, page = page_queries(client, heavy)
    assert heavy_count == small_count, f"{heavy_count} queries for the heavy case, {small_count} for the small"
    assert small_count < 60
    # Every task and every file is on the page; the timeline and the observables are bounded.
    assert page.count('data-task-id="') == 50
    assert page.count('data-evidence-download="') == 20
    assert page.count('class="ev ev-') <= TIMELINE_PAGE
    assert page.count('data-observable="') == observable_intel.CASE_PAGE_OBSERVABLES
    assert page.count('<article class="note"') == NOTES_PAGE


def test_older_timeline_pages_and_more_observables_are_constant_too(client, world):
    small = case_services.open_case(title="Small", severity="low", team=world.blue)
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, small, observables=5, tasks=2, files=1, events=10, tag="s")
    seed_case(world, heavy, observables=200, tasks=50, files=20, events=1000, tag="h")
    client.force_login(world.analyst)
    page_queries(client, small)
    small_count, _ = page_queries(client, small)
    for query in ("?events=2&observables=2", "?events=10&observables=4", "?timeline=oldest&events=3"):
        heavy_count, page = page_queries(client, heavy, query)
        assert heavy_count == small_count, query
    assert 0 < page.count('class="ev ev-') <= TIMELINE_PAGE
    assert page.count('data-observable="') == observable_intel.CASE_PAGE_OBSERVABLES


def test_seen_in_other_cases_is_constant_and_names_no_hidden_case(world, settings):
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, heavy, observables=200, tasks=0, files=0, events=0, tag="h")
    red_ids = set(Case.objects.filter(team=world.red).values_list("pk", flat=True))
    ids = list(Observable.objects.filter(cases=heavy).values_list("pk", flat=True))
    observable_intel.seen_in_other_cases(world.analyst, heavy.pk, ids[:1])  # the user's roles, once
    for allowed, expected_queries in ((True, 2), (False, 2)):
        settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = allowed
        with CaptureQueriesContext(connection) as few:
            observable_intel.seen_in_other_cases(world.analyst, heavy.pk, ids[:5])
        with CaptureQueriesContext(connection) as captured:
            seen = observable_intel.seen_in_other_cases(world.analyst, heavy.pk, ids)
        assert len(captured.captured_queries) == len(few.captured_queries) == expected_queries
        assert len(seen) == 200
        for item in seen.values():
            assert item.visible == 1 and len(item.case_ids) == 1
            assert not red_ids & set(item.case_ids)
            assert item.hidden == (1 if allowed else None)


def test_the_page_never_links_a_hidden_case_and_hides_the_count_when_the_policy_says_so(client, world, settings):
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, heavy, observables=30, tasks=0, files=0, events=0, tag="h")
    red_ids = set(Case.objects.filter(team=world.red).values_list("pk", flat=True))
    client.force_login(world.analyst)
    settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = True
    page = client.get(f"/cases/{heavy.pk}/").content.decode()
    linked = {int(pk) for pk in re.findall(r'href="/cases/(\d+)/"', page)}
    assert linked and not linked & red_ids
    assert "you cannot open" in page
    settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = False
    page = client.get(f"/cases/{heavy.pk}/").content.decode()
    assert "you cannot open" not in page and "data-hidden-count" not in page


def test_an_analyst_of_another_team_cannot_reach_any_slice_of_the_page(client, world):
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, heavy, observables=5, tasks=1, files=1, events=30, tag="h")
    client.force_login(world.red_analyst)
    for query in ("", "?events=2", "?observables=2", "?fragment=timeline&events=2"):
        assert client.get(f"/cases/{heavy.pk}/{query}").status_code == 404


def test_show_older_walks_the_whole_timeline_without_gaps(client, world):
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    CaseEvent.objects.filter(case=heavy).delete()
    CaseEvent.objects.bulk_create([CaseEvent(case=heavy, kind=EventKind.STATUS_CHANGED, message=f"step-{i:04d}")
                                   for i in range(TIMELINE_PAGE * 2 + 5)])
    client.force_login(world.analyst)
    seen: list[str] = []
    page_number = 1
    while True:
        page = client.get(f"/cases/{heavy.pk}/?events={page_number}").content.decode()
        seen += re.findall(r"step-\d{4}", page)
        if f"events={page_number + 1}" not in page:
            break
        page_number += 1
    assert page_number == 3
    assert sorted(seen) == [f"step-{i:04d}" for i in range(TIMELINE_PAGE * 2 + 5)]
    assert seen[0] == f"step-{TIMELINE_PAGE * 2 + 4:04d}"  # newest first


def test_observable_pages_cover_every_observable(client, world):
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, heavy, observables=observable_intel.CASE_PAGE_OBSERVABLES + 7, tasks=0, files=0, events=0,
              tag="h")
    client.force_login(world.analyst)
    first = client.get(f"/cases/{heavy.pk}/").content.decode()
    second = client.get(f"/cases/{heavy.pk}/?observables=2").content.decode()
    ids = re.findall(r'data-observable="(\d+)"', first) + re.findall(r'data-observable="(\d+)"', second)
    assert len(ids) == len(set(ids)) == observable_intel.CASE_PAGE_OBSERVABLES + 7
    assert "observables=2" in first and "observables=1" in second
    # A page number out of range or not a number is not an error: the last or first page.
    assert client.get(f"/cases/{heavy.pk}/?observables=99").status_code == 200
    assert client.get(f"/cases/{heavy.pk}/?observables=abc&events=-3").status_code == 200


def test_notes_panel_pages_back_and_an_edit_returns_to_the_notes_page(client, world):
    case = world.blue_case
    notes = [case_services.add_note(case, f"remark-{i:03d}", actor=world.analyst) for i in range(NOTES_PAGE * 2 + 3)]
    client.force_login(world.analyst)
    shown: list[str] = []
    for number in (1, 2, 3):
        page = client.get(f"/cases/{case.pk}/?notes={number}").content.decode()
        notes_panel = page.split('id="notes"', 1)[1].split('id="timeline"', 1)[0]
        shown += re.findall(r"<p>(remark-\d{3})</p>", notes_panel)
        assert (f"notes={number + 1}" in notes_panel) == (number < 3)
    assert sorted(shown) == [f"remark-{i:03d}" for i in range(NOTES_PAGE * 2 + 3)]
    assert shown[:NOTES_PAGE] == [f"remark-{i:03d}" for i in range(NOTES_PAGE + 3, NOTES_PAGE * 2 + 3)]
    oldest = notes[0]
    response = client.post(f"/cases/{case.pk}/notes/{oldest.pk}/edit", {"body": "remark-000 edited"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"?notes=3#note-{oldest.pk}")
    assert "remark-000 edited" in client.get(response["Location"].split("#")[0]).content.decode()


def test_both_ways_of_testing_visibility_agree(world, settings, monkeypatch):
    """Few links: read them, then test their cases' visibility; many (past LINKS_READ_FIRST): one
    semi-join. Same figures, same links, no hidden case named, either way."""
    settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES = True
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    seed_case(world, heavy, observables=40, tasks=0, files=0, events=0, tag="h")
    red_ids = set(Case.objects.filter(team=world.red).values_list("pk", flat=True))
    ids = list(Observable.objects.filter(cases=heavy).values_list("pk", flat=True))
    read_first = observable_intel.seen_in_other_cases(world.analyst, heavy.pk, ids)
    similar_first = observable_intel.similar_cases(world.analyst, heavy)
    monkeypatch.setattr(observable_intel, "LINKS_READ_FIRST", 0)
    monkeypatch.setattr(observable_intel, "SIMILAR_LINKS_READ_FIRST", 0)
    semi_join = observable_intel.seen_in_other_cases(world.analyst, heavy.pk, ids)
    similar_join = observable_intel.similar_cases(world.analyst, heavy)
    assert read_first == semi_join
    assert [(s.case.pk, s.score, s.shared) for s in similar_first] == [(s.case.pk, s.score, s.shared)
                                                                      for s in similar_join]
    assert similar_first and not {s.case.pk for s in similar_first} & red_ids
    assert all(not red_ids & set(seen.case_ids) and seen.hidden == 1 for seen in semi_join.values())


def test_similar_cases_skip_the_best_ranked_cases_the_user_may_not_open(world, monkeypatch):
    """The best-ranked cases are the other team's: the visible ones further down are found (the
    semi-join fallback), never the red ones."""
    heavy = case_services.open_case(title="Heavy", severity="low", team=world.blue)
    shared = Observable.objects.bulk_create([Observable(type="ip", value=f"203.0.113.{i}",
                                                        value_hash=Observable.digest(f"s{i}")) for i in range(6)])
    heavy.observables.add(*shared)
    reds = [case_services.open_case(title=f"red {i}", severity="low", team=world.red) for i in range(3)]
    for red in reds:
        red.observables.add(*shared)  # all six: the best scores
    blue = case_services.open_case(title="blue", severity="low", team=world.blue)
    blue.observables.add(shared[0])  # one: ranked last
    monkeypatch.setattr(observable_intel, "SIMILAR_CANDIDATES", 2)
    similar = observable_intel.similar_cases(world.analyst, heavy)
    assert [s.case.pk for s in similar] == [blue.pk]
    assert {s.case.pk for s in observable_intel.similar_cases(world.red_analyst, reds[0])} >= {reds[1].pk, reds[2].pk}
