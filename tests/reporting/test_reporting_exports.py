"""CSV/JSON exports: content, filters, streaming, and never more than the user may see."""

import csv
import io
import json

import pytest
from django.db.models.query import QuerySet
from django.http import StreamingHttpResponse

from cases import services
from cases.models import AuditLog, Case
from tests.support.reporting_data import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse), type(response)
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def test_cases_csv_has_only_the_visible_cases(client, world):
    client.force_login(world.alice)
    response = client.get("/reports/export/cases.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="soar-cases-')
    rows = csv_rows(response)
    assert {row["title"] for row in rows} == {"c1 phishing", "c2 ransomware", "c3 scan", "old red case"}
    c1 = next(row for row in rows if row["id"] == str(world.c1.pk))
    assert (c1["severity"], c1["status"], c1["team"], c1["assignee"]) == ("high", "RESOLVED", "red", "alice")
    assert c1["created_at"] == "2026-01-10T00:00:00+00:00" and c1["sla_breached"] == "false"
    c2 = next(row for row in rows if row["id"] == str(world.c2.pk))
    assert c2["sla_breached"] == "true" and c2["resolved_at"] == ""


def test_cases_json_is_an_array_of_objects(client, world):
    client.force_login(world.bob)
    response = client.get("/reports/export/cases.json")
    assert response["Content-Type"] == "application/json"
    data = json.loads(body(response))
    assert [row["title"] for row in data] == ["c4 malware"]
    assert data[0]["team"] == "blue" and data[0]["triaged_at"].startswith("2026-01-12T00:50:00")


def test_cases_export_uses_the_lists_filters(client, world):
    client.force_login(world.admin)
    titles = lambda params: {r["title"] for r in csv_rows(client.get("/reports/export/cases.csv", params))}  # noqa: E731
    assert titles({"severity": "high"}) == {"c1 phishing"}
    assert titles({"team": world.blue.pk}) == {"c4 malware"}
    assert titles({"created_after": "2026-01-11", "created_before": "2026-01-11"}) == {"c2 ransomware", "c3 scan"}
    assert titles({"sla": "breached", "is_open": "true"}) == {"c2 ransomware", "c3 scan"}
    assert titles({"q": "ransom"}) == {"c2 ransomware"}


def test_an_export_filter_on_another_team_never_leaks(client, world):
    client.force_login(world.alice)
    assert csv_rows(client.get("/reports/export/cases.csv", {"team": world.blue.pk})) == []
    assert json.loads(body(client.get("/reports/export/alerts.json", {"case": world.c4.pk}))) == []


def test_bad_filter_is_a_400_with_field_errors(client, world):
    client.force_login(world.alice)
    response = client.get("/reports/export/cases.csv", {"created_after": "not-a-date", "severity": "urgent"})
    assert response.status_code == 400
    assert set(response.json()) == {"created_after", "severity"}


def test_unknown_export_is_404_and_anonymous_is_refused(client, world):
    assert client.get("/reports/export/cases.csv").status_code in (401, 403)
    client.force_login(world.alice)
    assert client.get("/reports/export/users.csv").status_code == 404
    assert client.get("/reports/export/cases.xml").status_code == 404


def test_alerts_export_follows_alert_visibility(client, world):
    client.force_login(world.alice)
    titles = {row["title"] for row in csv_rows(client.get("/reports/export/alerts.csv"))}
    assert titles == {"a1", "a2", "a3", "a6"}  # red cases' alerts and red's queued alert
    client.force_login(world.auditor)
    assert len(json.loads(body(client.get("/reports/export/alerts.json")))) == 6


def test_alerts_export_filters(client, world):
    client.force_login(world.admin)
    rows = csv_rows(client.get("/reports/export/alerts.csv", {"source": "siem", "severity": ["low", "critical"]}))
    assert {row["title"] for row in rows} == {"a3", "a6"}
    rows = csv_rows(client.get("/reports/export/alerts.csv", {"status": "queued"}))
    assert {row["title"] for row in rows} == {"a5", "a6"}
    rows = csv_rows(client.get("/reports/export/alerts.csv", {"received_after": "2026-01-12T00:00:00Z"}))
    assert {row["title"] for row in rows} == {"a4", "a5"}
    assert rows[0]["source"] == "edr" and rows[0]["received_at"] == "2026-01-12T00:00:00+00:00"


def test_audit_export_is_for_leads_admins_and_auditors(client, world):
    services.record_audit("case.update", world.c1, actor=world.alice, after={"title": "c1"})
    services.record_audit("case.update", world.c4, actor=world.bob, after={"title": "c4"})
    client.force_login(world.alice)
    assert client.get("/reports/export/audit.csv").status_code == 403
    client.force_login(world.lead)
    rows = csv_rows(client.get("/reports/export/audit.csv"))
    assert [(r["object_id"], r["actor"]) for r in rows] == [(str(world.c1.pk), "alice")]  # not blue's c4
    client.force_login(world.auditor)
    data = json.loads(body(client.get("/reports/export/audit.json", {"action": "case.update"})))
    assert {row["object_id"] for row in data} == {str(world.c1.pk), str(world.c4.pk)}
    assert {"title": "c4"} in [row["after"] for row in data]
    assert AuditLog.objects.count() >= 2


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(client, world):
    Case.objects.filter(pk=world.c1.pk).update(title='=HYPERLINK("http://evil.example","x")')
    client.force_login(world.alice)
    rows = csv_rows(client.get("/reports/export/cases.csv", {"severity": "high"}))
    assert rows[0]["title"].startswith("'=HYPERLINK")


def test_thousands_of_rows_stream_through_an_iterator(client, world, monkeypatch):
    Case.objects.bulk_create([Case(title=f"bulk {i}", team=world.red, severity="low") for i in range(5000)])
    chunk_sizes = []
    real_iterator = QuerySet.iterator

    def spying_iterator(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spying_iterator)
    client.force_login(world.alice)
    response = client.get("/reports/export/cases.csv")
    assert isinstance(response, StreamingHttpResponse)
    assert chunk_sizes == [2000]  # the query ran (so its errors are not a truncated 200), rows not yet read
    lines = body(response).splitlines()
    assert len(lines) == 1 + 5000 + 4 and lines[0].startswith("id,title,severity,status")
    assert chunk_sizes == [2000]
    data = json.loads(body(client.get("/reports/export/cases.json")))
    assert len(data) == 5004 and chunk_sizes == [2000, 2000]


@pytest.mark.parametrize("kind, params", [
    ("alerts", {"received_after": "9999-12-31T23:59:59-23:00"}),
    ("alerts", {"case": "99999999999999999999999"}),
    ("audit", {"created_at__gte": "9999-12-31T23:59:59-23:00"}),
    ("audit", {"actor": "99999999999999999999999"}),
    ("cases", {"team": "99999999999999999999999"}),
])
def test_out_of_range_filters_are_400_not_500(client, world, kind, params):
    client.force_login(world.admin)
    response = client.get(f"/reports/export/{kind}.csv", params)
    assert response.status_code == 400, response.content
    assert set(params) <= set(response.json())
