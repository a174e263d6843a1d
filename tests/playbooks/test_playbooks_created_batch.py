"""The "created" entries of one transaction (a correlation chunk opens hundreds of cases) are
evaluated together after its commit: one look-up of the enabled trigger types, every case's
playbooks still started, and nothing for a case whose savepoint was rolled back."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cases import services as case_services
from playbooks.models import PlaybookRun
from tests.support.playbooks_helpers import action, make_playbook

pytestmark = pytest.mark.django_db(transaction=True)


def trigger_type_lookups(queries) -> int:
    return sum('SELECT DISTINCT "playbooks_playbook"."trigger_type"' in query["sql"] for query in queries)


def test_cases_opened_in_one_transaction_share_one_trigger_lookup(world):
    created = make_playbook({"name": "Created", "trigger": {"type": "case_created", "min_severity": "high"},
                             "steps": [action("t", "tag", tags=["new"])]})
    with CaptureQueriesContext(connection) as queries:
        with transaction.atomic():
            ids = case_services.open_cases_bulk([{"title": f"c{i}", "severity": "high", "confidence": 90,
                                                  "description": "", "team_id": None} for i in range(5)])
            ids.append(case_services.open_case(title="one more", severity="critical").pk)
            ids.append(case_services.open_case(title="too low", severity="low").pk)
            try:
                with transaction.atomic():
                    case_services.open_case(title="rolled back", severity="critical")
                    raise RuntimeError
            except RuntimeError:
                pass
            ids.append(case_services.open_case(title="after the rollback", severity="critical").pk)
    assert trigger_type_lookups(queries) == 1
    started = set(PlaybookRun.objects.filter(playbook=created).values_list("case__title", flat=True))
    assert started == {"c0", "c1", "c2", "c3", "c4", "one more", "after the rollback"}
    assert PlaybookRun.objects.filter(playbook=created, status="succeeded").count() == 7


def test_a_case_opened_outside_a_transaction_is_evaluated_at_once(world):
    created = make_playbook({"name": "Created", "trigger": {"type": "case_created"},
                             "steps": [action("t", "tag", tags=["new"])]})
    case = case_services.open_case(title="alone", severity="medium")
    assert [run.case_id for run in PlaybookRun.objects.filter(playbook=created)] == [case.pk]


def test_no_lookup_per_case_without_playbooks(world):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        case_services.open_cases_bulk([{"title": f"c{i}", "severity": "high", "confidence": 90, "description": "",
                                        "team_id": None} for i in range(20)])
    assert trigger_type_lookups(queries) == 1
