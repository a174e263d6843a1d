"""Custom fields and observable types on PostgreSQL: the unit tests' filters, template defaults and exports collected
again here (containment tests on jsonb instead of SQLite's JSON_EXTRACT), and the plan: a
cf_<key> filter is answered by the GIN index of migration cases/0018, not by reading the table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import custom_fields, selectors
from cases.filtersets import CaseFilter
from tests.alerts.test_observable_types import (  # noqa: F401 - the observable column is varchar(32) here
    test_long_type_keys_fit_the_observable_column,
    test_the_built_in_eight_are_seeded,
)
from tests.cases.test_custom_fields_filters import (  # noqa: F401 - collected again, here on PostgreSQL
    test_api_bad_filter_values_are_a_400_with_field_errors,
    test_api_filters_by_each_type_exactly,
    test_custom_field_q_uses_containment_on_postgresql,
    test_exports_have_one_column_per_active_definition,
    test_queue_page_filters_by_custom_field,
    test_template_defaults_apply_when_a_case_is_opened,
    w,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_gin_index_exists_and_answers_the_filter(w):  # noqa: F811 - the fixture imported above
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'case_custom_fields_gin'")
        (indexdef,) = cursor.fetchone()
    assert "gin (custom_fields jsonb_path_ops)" in indexdef
    queryset = CaseFilter({"cf_vendor": "Acme", "cf_loss": "1500"},
                          queryset=selectors.visible_cases(w.analyst)).qs
    assert [case.pk for case in queryset] == [w.acme.pk]
    # The filter alone (the queue adds its order and visibility): tiny test tables are cheaper to
    # read whole or in index order, so forbid both to see whether the GIN index can answer it.
    with CaptureQueriesContext(connection) as queries:
        list(queryset.model.objects.filter(custom_fields.custom_field_q("vendor", "Acme")).order_by()
             .values_list("pk", flat=True))
    sql = queries.captured_queries[-1]["sql"]
    assert "@>" in sql
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_custom_fields_gin" in plan, plan


def test_a_whole_number_matches_however_it_is_written(w):  # noqa: F811
    cases = selectors.visible_cases(w.analyst)
    for written in (1500, 1500.0):
        assert [c.pk for c in cases.filter(custom_fields.custom_field_q("loss", written))] == [w.acme.pk]
