"""Elasticsearch detection alerts pulled with a PIT and search_after (see the fake's docstring
for the documentation each answer follows): pages across runs, no gap, no duplicate."""

import pytest

from alerts.models import Alert
from connectors import services
from connectors.models import PullConnector
from tests.connectors.connector_fakes import FakeSearch, detection_alert

pytestmark = pytest.mark.django_db


def run(connector):
    return services.run_connector(connector.pk, ignore_schedule=True)


def uuids():
    return sorted(Alert.objects.values_list("source_ref", flat=True))


def test_pages_across_runs_then_picks_up_new_documents(elastic, make_connector):
    elastic.index_docs([detection_alert(n) for n in range(5)])
    connector = make_connector(elastic, page_size=2)

    first = run(connector)
    assert (first.status, first.records, first.created, first.more) == ("ok", 2, 2, True)
    connector.refresh_from_db()
    # A full page: the PIT is kept for the rest of the backlog and the connector is due at once.
    assert connector.cursor["pit_id"] and connector.cursor["search_after"][1] == "uuid-0001"
    assert connector.next_run_at <= connector.last_run_at and connector.lag_seconds > 0

    assert run(connector).records == 2
    last = run(connector)
    assert (last.records, last.more) == (1, False)
    assert uuids() == [f"uuid-{n:04d}" for n in range(5)]
    # One PIT for the whole backlog, closed once caught up; every search continued the previous page.
    assert elastic.pits_opened == 1 and not elastic.pits
    assert [s.get("search_after", [None])[1] if s.get("search_after") else None for s in elastic.searches] == [
        None, "uuid-0001", "uuid-0003"]
    connector.refresh_from_db()
    assert "pit_id" not in connector.cursor and connector.lag_seconds == 0
    assert connector.records_fetched_total == 5 and connector.alerts_created_total == 5
    assert connector.consecutive_failures == 0 and connector.last_error == ""

    # Caught up: nothing new, nothing stored; then a new alert is seen through a fresh PIT.
    assert run(connector).records == 0
    elastic.index_docs([detection_alert(7)])
    assert run(connector).created == 1
    assert uuids()[-1] == "uuid-0007" and Alert.objects.count() == 6
    # The documented request: API key header, sort on (timestamp, tiebreaker), settle window.
    search = elastic.searches[-1]
    assert search["sort"] == [{"@timestamp": {"order": "asc"}}, {"kibana.alert.uuid": {"order": "asc"}}]
    assert search["query"]["bool"]["filter"][0] == {"range": {"@timestamp": {"lte": "now-30s"}}}
    assert all(r.headers["authorization"].startswith("ApiKey ") for r in elastic.received)


def test_first_run_is_bounded_by_start_from_and_the_query(elastic, make_connector):
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic, query='{"term": {"kibana.alert.workflow_status": "open"}}',
                               options={"start_from": "now-2h"})
    run(connector)
    filters = elastic.searches[0]["query"]["bool"]["filter"]
    assert filters == [{"range": {"@timestamp": {"lte": "now-30s", "gte": "now-2h"}}},
                       {"term": {"kibana.alert.workflow_status": "open"}}]


def test_an_expired_pit_is_reopened_and_the_cursor_continues(elastic, make_connector):
    elastic.index_docs([detection_alert(n) for n in range(4)])
    connector = make_connector(elastic, page_size=2)
    run(connector)
    elastic.expire_pits()  # keep_alive passed between two runs
    second = run(connector)
    assert second.status == "ok" and second.records == 2
    assert uuids() == [f"uuid-{n:04d}" for n in range(4)] and elastic.pits_opened == 2


def test_a_crash_mid_page_keeps_the_cursor_and_the_rerun_has_no_gap_and_no_duplicate(
        elastic, make_connector, monkeypatch):
    elastic.index_docs([detection_alert(n) for n in range(6)])
    connector = make_connector(elastic, page_size=3)
    assert run(connector).records == 3
    connector.refresh_from_db()
    committed = connector.cursor["search_after"]

    from alerts.adapters import elastic as elastic_adapter

    real = elastic_adapter._parse_doc
    seen = []

    def crash_on_the_second_record(doc):
        seen.append(doc)
        if len(seen) == 2:
            raise RuntimeError("worker killed mid-page")
        return real(doc)

    monkeypatch.setattr(elastic_adapter, "_parse_doc", crash_on_the_second_record)
    crashed = run(connector)
    assert crashed.status == "failed" and "storing the page failed" in crashed.error
    connector.refresh_from_db()
    # Nothing of the crashed page is stored, and the cursor is where the committed page left it.
    assert connector.cursor["search_after"] == committed and Alert.objects.count() == 3
    assert connector.consecutive_failures == 1

    monkeypatch.setattr(elastic_adapter, "_parse_doc", real)
    assert run(connector).records == 3
    assert uuids() == [f"uuid-{n:04d}" for n in range(6)]

    # At-least-once the other way: a cursor set back (a restore, "start again") re-fetches pages
    # already stored; they count as re-sends on their rows, never as new alerts.
    services.reset_cursor(connector.pk)
    connector.refresh_from_db()
    assert run(connector).created == 0
    assert Alert.objects.count() == 6
    assert sorted(Alert.objects.values_list("occurrence_count", flat=True)) == [1, 1, 1, 2, 2, 2]


def test_wazuh_indexer_uses_the_opensearch_pit_api_on_wazuh_alerts(make_connector):
    server = FakeSearch("wazuh-alerts-*", api="opensearch", timestamp_field="timestamp", tiebreaker="id",
                        auth="Bearer wazuh-token").start()
    try:
        server.index_docs([
            {"timestamp": f"2026-11-25T10:00:0{n}.000+00:00", "id": f"1764064800.{n}",
             "rule": {"level": 10, "description": "sshd: brute force", "id": "5712"},
             "agent": {"id": "001", "name": "web-01"}, "data": {"srcip": "203.0.113.7"}}
            for n in range(3)])
        connector = make_connector(server, kind="wazuh_indexer", source_kind="wazuh", name="wazuh-pull",
                                   secret="wazuh-token", page_size=2)
        assert run(connector).records == 2
        assert run(connector).records == 1
        assert sorted(Alert.objects.values_list("source_ref", flat=True)) == [f"1764064800.{n}" for n in range(3)]
        assert server.pits_opened == 1 and not server.pits
        assert any(r.path == "/wazuh-alerts-*/_search/point_in_time" for r in server.received)
        assert PullConnector.objects.get(pk=connector.pk).records_fetched_total == 3
    finally:
        server.stop()
