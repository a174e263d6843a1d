"""The dashboard's ATT&CK matrix (/reports/attack/): columns per tactic in matrix order,
techniques seen in the range with case and alert counts, only what the user may see."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertSource
from attack import selectors as attack_selectors
from cases import techniques as case_techniques
from cases.models import Case
from reporting.attack_matrix import attack_matrix
from reporting.selectors import ReportScope
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(catalogue):
    w = build_world()
    source = AlertSource(name="edr", kind="generic", default_team=w.blue)
    source.rotate_token()
    source.save()
    technique = attack_selectors.find_technique("T1190")
    for case in (w.blue_case, w.red_case):
        alert = Alert.objects.create(source=source, title="x", severity="high", fingerprint="f", case=case,
                                     attack_ids=["T1190"])
        alert.techniques.add(technique)
    case_techniques.add_alert_techniques({(w.blue_case.pk, technique.pk), (w.red_case.pk, technique.pk)})
    case_techniques.add_technique(w.blue_case, "T1059.001", actor=w.analyst)
    return w


def cell_counts(matrix) -> dict[tuple[str, str], tuple[int, int]]:
    return {(column.tactic.external_id, cell.technique.external_id): (cell.cases, cell.alerts)
            for column in matrix.columns for cell in column.cells}


def test_counts_cover_only_the_users_teams(w):
    scope = ReportScope.last_days(30)
    blue = attack_matrix(w.analyst, scope)
    assert cell_counts(blue) == {("TA0001", "T1190"): (1, 1), ("TA0002", "T1059.001"): (1, 0)}
    assert (blue.techniques_seen, blue.cases, blue.alerts) == (2, 1, 1)
    admin = attack_matrix(w.admin, scope)
    assert cell_counts(admin)[("TA0001", "T1190")] == (2, 2)
    red = attack_matrix(w.red_analyst, scope)
    assert cell_counts(red) == {("TA0001", "T1190"): (1, 1)}
    assert [c.tactic.external_id for c in blue.columns][:4] == ["TA0043", "TA0042", "TA0001", "TA0002"]


def test_range_excludes_older_cases_and_alerts(w):
    old = timezone.now() - dt.timedelta(days=60)
    Case.objects.filter(pk=w.blue_case.pk).update(created_at=old)
    Alert.objects.filter(case=w.blue_case).update(received_at=old)
    assert cell_counts(attack_matrix(w.analyst, ReportScope.last_days(30))) == {}
    assert cell_counts(attack_matrix(w.analyst, ReportScope.last_days(90)))[("TA0001", "T1190")] == (1, 1)


def test_page_is_an_accessible_table(client, w):
    client.force_login(w.red_analyst)
    response = client.get("/reports/attack/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<table class="table compact attack-matrix" id="attack-matrix">' in page and "<caption" in page
    assert '<th scope="col">' in page and 'data-technique="T1190" data-cases="1" data-alerts="1"' in page
    assert "T1059.001" not in page  # the blue team's technique stays with the blue team
    assert 'id="attack-matrix-link"' in client.get("/reports/").content.decode()


def test_bad_range_is_a_400_with_field_errors(client, w):
    client.force_login(w.analyst)
    response = client.get("/reports/attack/", {"from": "2026-05-10", "to": "2026-05-01"})
    assert response.status_code == 400
    assert "Must be on or after from." in response.content.decode()
    assert client.get("/reports/attack/", {"team": w.red.pk}).status_code == 400  # not one of the analyst's teams


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/reports/attack/")
    assert response.status_code == 302 and "login" in response["Location"]
