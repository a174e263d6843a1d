"""Find anything on PostgreSQL: the same checks as on SQLite (tests/search), and the plans: each
text look-up (search/candidates.py) is answered by its trigram index (search/migrations/0001),
not by reading the table."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from search import selectors
from tests.search.test_search import (  # noqa: F401 - collected again, here on PostgreSQL
    IP,
    test_an_ip_only_in_an_observable_finds_its_case_from_the_queue_and_the_top_bar,
    test_another_teams_newer_matches_fill_the_candidates_but_never_show,
    test_another_teams_objects_never_appear_not_even_as_counts,
    test_like_wildcards_in_the_text_are_literal,
    test_notes_group_lists_each_matching_note_once,
    test_queue_text_filter_matches_each_field_without_duplicating_cases,
    test_results_are_grouped_with_counts,
    w,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _plans(user, text) -> dict[str, str]:
    """The plan of each statement of the search that looks the text up (search/candidates.py),
    by the table it starts from. Tiny tables are cheaper to read whole or in id order; forbid
    both so that the plan shows whether a (bitmap) index scan can answer the text test."""
    with CaptureQueriesContext(connection) as queries:
        selectors.search(user, text)
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        for query in queries.captured_queries:
            sql = query["sql"]
            if "LIKE UPPER(" in sql:
                cursor.execute("EXPLAIN " + sql)
                table = re.search(r"FROM ([a-z_]+) [ot] ", sql).group(1)  # the cases' union: its first
                plans[table] = "\n".join(row[0] for row in cursor.fetchall())
    return plans


@pytest.mark.parametrize("username", ["root", "analyst"])
def test_each_search_uses_its_trigram_index(w, username):  # noqa: F811 - the fixture imported above
    user = {"root": w.admin, "analyst": w.analyst}[username]
    plans = _plans(user, IP)
    assert set(plans) == {"cases_case", "alerts_alert", "alerts_observable", "cases_note"}, plans
    alerts, cases = plans["alerts_alert"], plans["cases_case"]
    assert "search_alert_title_trgm" in alerts and "search_alert_entity_trgm" in alerts, alerts
    assert "search_observable_value_trgm" in plans["alerts_observable"], plans
    assert "search_note_body_trgm" in plans["cases_note"], plans
    for index in ("search_case_title_trgm", "search_note_body_trgm", "search_observable_value_trgm",
                  "search_alert_entity_trgm"):
        assert index in cases, (index, cases)


def test_an_ip_prefix_and_a_substring_match(w):  # noqa: F811
    for text in (IP, "203.0.113.", "0.113.14"):
        groups = {g.kind: g.count for g in selectors.search(w.analyst, text).groups}
        assert groups["cases"] == 1 and groups["observables"] == 1, (text, groups)
