"""The heavy case page on PostgreSQL (issue 18): the same checks as on SQLite
(tests/cases/test_case_page_queries.py): as many queries for a case with 200 observables, 50
tasks, 20 files and 1,000 events as for a small one, "seen in other cases" in a constant number
of queries naming no case the analyst may not open (read-first and semi-join paths alike), and
every slice of the timeline, notes and observables reachable."""

import pytest

from tests.cases.test_case_page_queries import (  # noqa: F401 - collected again, here on PostgreSQL
    test_an_analyst_of_another_team_cannot_reach_any_slice_of_the_page,
    test_both_ways_of_testing_visibility_agree,
    test_heavy_case_page_reads_as_many_queries_as_a_small_one,
    test_notes_panel_pages_back_and_an_edit_returns_to_the_notes_page,
    test_observable_pages_cover_every_observable,
    test_older_timeline_pages_and_more_observables_are_constant_too,
    test_seen_in_other_cases_is_constant_and_names_no_hidden_case,
    test_show_older_walks_the_whole_timeline_without_gaps,
    test_similar_cases_skip_the_best_ranked_cases_the_user_may_not_open,
    test_the_page_never_links_a_hidden_case_and_hides_the_count_when_the_policy_says_so,
    world,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
