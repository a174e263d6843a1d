"""Page-number pagination (cases.paging): totals, the cap, and no count query on the last page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Team
from cases.paging import CAP, paginate

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    Team.objects.bulk_create([Team(name=f"T{i:03}", slug=f"t{i:03}") for i in range(120)])
    return Team.objects.order_by("name")


def test_a_page_that_is_the_last_one_knows_its_total_without_counting(teams):
    with CaptureQueriesContext(connection) as queries:
        page = paginate(teams.filter(name__startswith="T00"), "1")
    assert (page.total, page.has_next, len(page.items), len(queries)) == (10, False, 10, 1)
    with CaptureQueriesContext(connection) as queries:
        last = paginate(teams, "3", per_page=50)
    assert (last.total, last.has_next, len(last.items), last.start_index, len(queries)) == (120, False, 20, 101, 1)


def test_a_page_with_more_after_it_counts_and_an_empty_page_past_the_end_too(teams):
    with CaptureQueriesContext(connection) as queries:
        first = paginate(teams, "1", per_page=50)
    assert (first.total, first.has_next, len(queries)) == (120, True, 2)
    beyond = paginate(teams, "9", per_page=50)
    assert (beyond.items, beyond.total, beyond.has_next) == ([], 120, False)


def test_the_total_is_capped(teams, monkeypatch):
    monkeypatch.setattr("cases.paging.CAP", 100)
    page = paginate(teams, "1", per_page=50)
    assert (page.total, page.total_capped) == (100, True)
    assert CAP == 10_000
