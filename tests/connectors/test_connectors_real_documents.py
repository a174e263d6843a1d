"""Pull connectors over genuine third-party documents (tests/fixtures/real/, provenance in the
README there and each *.expect.json): the Wazuh indexer kind reading real Wazuh alerts through
the OpenSearch dialect with the indexer's basic auth, and the generic JSON kind finding real
Elastic Security alerts in an Elasticsearch search answer by JSONPath. Each pulled alert must
normalise exactly as its expectation file says it does through the webhook."""

import base64
import json
from datetime import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.models import Alert
from connectors import services
from connectors.models import PullConnector
from tests.connectors.connector_fakes import FakeSearch

pytestmark = pytest.mark.django_db

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
# Real Wazuh alerts (alerts.json lines) that carry the indexer's sort fields, ``timestamp`` and
# ``id``; 02 is a 2017 alert without either (a log line, never indexed as such).
WAZUH = ["01-4x-sshd-brute-force-srcip", "03-fim-windows-whodata-hosts-modified",
         "04-doc-virustotal-level12-eicar-agent-host", "05-doc-ar-shellshock-level15-srcip-url"]
# Real Elastic Security 8.x alert hits ({_index, _id, _source}; kibana.alert.* as flat dotted keys).
ELASTIC = ["01-8x-threat-match-search-hit-dotted", "04-8x-endpoint-promotion-rule-user-hashes",
           "05-8x-custom-query-high-sysmon-windows-tasks", "06-8x-custom-query-critical-dmsa-t1098"]


def real(kind, name):
    document = json.loads((REAL / kind / f"{name}.json").read_text())
    expected = json.loads((REAL / kind / f"{name}.expect.json").read_text())["expect"]["alerts"][0]
    return document, expected


def assert_as_expected(alert, expected):
    """The expectation file's claims (as tests/alerts/test_real_senders_corpus.py reads them)."""
    assert expected["title_contains"].lower() in alert.title.lower()
    assert alert.severity == expected["severity"]
    assert alert.occurred_at == datetime.fromisoformat(expected["occurred_at"])
    assert f"{alert.entity_type}:{alert.entity_value}" == expected["entity"]
    assert alert.source_ref == expected["dedup_identity"]


def test_wazuh_indexer_pulls_real_wazuh_alerts_with_basic_auth(make_connector):
    password = "Wazuh-Indexer-Pass.1"  # noqa: S105 - the fake's accepted credential
    basic = base64.b64encode(f"admin:{password}".encode()).decode()
    server = FakeSearch("wazuh-alerts-*", api="opensearch", timestamp_field="timestamp", tiebreaker="id",
                        auth=f"Basic {basic}").start()
    try:
        documents = {name: real("wazuh", name) for name in WAZUH}
        server.index_docs([document for document, _ in documents.values()])
        connector = make_connector(server, kind="wazuh_indexer", source_kind="wazuh", name="wazuh-pull",
                                   secret=password, username="admin", page_size=3,
                                   options={"start_from": "2018-01-01T00:00:00Z"})

        first = services.run_connector(connector.pk)
        assert (first.status, first.records, first.created, first.more) == ("ok", 3, 3, True)
        connector.refresh_from_db()
        # Behind: the cursor is at the third oldest alert (2022), years before now.
        assert connector.lag_seconds > 365 * 86400
        second = services.run_connector(connector.pk)
        assert (second.records, second.more) == (1, False)
        connector.refresh_from_db()
        assert connector.lag_seconds == 0 and connector.records_fetched_total == 4

        # Sorted on the indexer's timestamp, whatever its offset (+0200 / +0000), then the id.
        # The second run continued after the third oldest (2018 +0200, 2021, then this 2022 one).
        assert [search.get("search_after") for search in server.searches] == [
            None, [1652272159905, "1652272159.1549653", 2]]
        assert Alert.objects.count() == 4
        for document, expected in documents.values():
            assert_as_expected(Alert.objects.get(source_ref=document["id"]), expected)
        assert all(r.headers["authorization"] == f"Basic {basic}" for r in server.received)
    finally:
        server.stop()


def test_wazuh_indexer_refusing_the_password_is_the_connectors_error(make_connector):
    server = FakeSearch("wazuh-alerts-*", api="opensearch", timestamp_field="timestamp", tiebreaker="id",
                        auth="Basic not-this").start()
    try:
        server.index_docs([real("wazuh", WAZUH[0])[0]])
        connector = make_connector(server, kind="wazuh_indexer", source_kind="wazuh", name="wazuh-pull",
                                   secret="wrong-password", username="admin")
        result = services.run_connector(connector.pk)
        assert result.status == "failed"
        connector.refresh_from_db()
        assert "authentication refused (HTTP 401)" in connector.last_error and "Unauthorized" in connector.last_error
        assert "wrong-password" not in connector.last_error
        assert connector.consecutive_failures == 1 and connector.next_run_at > timezone.now()
        assert not Alert.objects.exists()
    finally:
        server.stop()


def search_answer(hits, total):
    """An Elasticsearch ``_search`` answer (Search API, "Response body"):
    https://www.elastic.co/guide/en/elasticsearch/reference/current/search-search.html"""
    return {"took": 3, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None, "hits": hits}}


def test_generic_json_finds_the_records_by_jsonpath(fake_server, make_connector):
    """``$.hits.hits[*]`` selects each hit; the id and cursor are keys with dots in their names
    (Elastic's flat ``kibana.alert.uuid``), which only JSONPath's bracket notation can reach."""
    hits = sorted((real("elastic", name)[0] for name in ELASTIC), key=lambda hit: hit["_source"]["@timestamp"])
    expectations = {real("elastic", name)[0]["_id"]: real("elastic", name)[1] for name in ELASTIC}
    fake_server.add("GET", "/alerts/_search", json=search_answer(hits[:2], 4), times=1)
    fake_server.add("GET", "/alerts/_search", json=search_answer(hits[2:], 2), times=1)
    fake_server.add("GET", "/alerts/_search", json=search_answer([], 0))
    connector = make_connector(fake_server, kind="generic_json", source_kind="elastic", name="es-json",
                               secret="es-key-0123", page_size=2, options={
                                   "list_path": "$.hits.hits[*]", "id_field": "$._source['kibana.alert.uuid']",
                                   "cursor_field": "$._source['@timestamp']", "cursor_param": "after",
                                   "limit_param": "size", "auth_scheme": "ApiKey"})
    PullConnector.objects.filter(pk=connector.pk).update(endpoint=fake_server.url + "/alerts/_search")

    first = services.run_connector(connector.pk)
    assert (first.records, first.created, first.more) == (2, 2, True)
    connector.refresh_from_db()
    assert connector.cursor == {"value": hits[1]["_source"]["@timestamp"]}
    # The cursor is a timestamp: the lag is measured from it (2023, long ago).
    assert connector.lag_seconds > 365 * 86400
    assert services.run_connector(connector.pk).records == 2
    assert services.run_connector(connector.pk).records == 0
    assert [r.query.get("after") for r in fake_server.received] == [
        None, hits[1]["_source"]["@timestamp"], hits[3]["_source"]["@timestamp"]]
    assert Alert.objects.count() == 4
    for alert_id, expected in expectations.items():
        assert_as_expected(Alert.objects.get(source_ref=alert_id), expected)
    connector.refresh_from_db()
    assert connector.lag_seconds == 0 and connector.records_fetched_total == 4


@pytest.mark.parametrize(("list_path", "titles"), [
    ("$.data.items", ["one", "two", "three"]),                      # a path to the list
    ("$.data.items[*]", ["one", "two", "three"]),                   # each element selected
    ("$.data.items[?(@.severity == 'high')]", ["one", "three"]),    # a filter
    ("$.data.items[?@.severity == 'high']", ["one", "three"]),      # RFC 9535's filter form
    ("$..items[1:]", ["two", "three"]),                             # descendants and a slice
    ("data.items", ["one", "two", "three"]),                        # the older dotted form
])
def test_generic_json_list_path_forms(fake_server, make_connector, list_path, titles):
    items = [{"source_ref": f"r-{n}", "title": title, "severity": "low" if title == "two" else "high"}
             for n, title in enumerate(["one", "two", "three"])]
    fake_server.add("GET", "/api", json={"data": {"items": items}, "meta": {"count": 3}})
    connector = make_connector(fake_server, kind="generic_json", source_kind="generic", name="tool-pull",
                               secret="tool-token", page_size=10, options={"list_path": list_path,
                                                                           "id_field": "source_ref"})
    PullConnector.objects.filter(pk=connector.pk).update(endpoint=fake_server.url + "/api")
    result = services.run_connector(connector.pk)
    assert (result.status, result.records, result.created, result.rejected) == ("ok", len(titles), len(titles), 0)
    assert sorted(Alert.objects.values_list("title", flat=True)) == sorted(titles)


def test_generic_json_singular_path_without_a_list_fails_the_run(fake_server, make_connector):
    fake_server.add("GET", "/api", json={"data": {"items": {"not": "a list"}}})
    connector = make_connector(fake_server, kind="generic_json", source_kind="generic", name="tool-pull",
                               secret="tool-token", options={"list_path": "$.data.items"})
    PullConnector.objects.filter(pk=connector.pk).update(endpoint=fake_server.url + "/api")
    assert services.run_connector(connector.pk).status == "failed"
    connector.refresh_from_db()
    assert "no list at '$.data.items'" in connector.last_error and connector.cursor == {}


def test_a_broken_jsonpath_is_a_field_error_in_the_admin_and_a_failed_run_if_stored(
        admin_client, fake_server, make_connector, make_source):
    source, _ = make_source(name="tool-source", kind="generic")
    response = admin_client.post("/admin/connectors/pullconnector/add/", {
        "name": "tool-pull", "kind": "generic_json", "enabled": "on", "source": source.pk,
        "endpoint": "https://tool.example.test/api", "username": "", "secret": "", "query": "",
        "options": '{"list_path": "$.data[", "cursor_field": "$.x.`y"}', "interval_seconds": 60,
        "page_size": 100, "timeout_seconds": 15, "cursor": "{}"})
    assert response.status_code == 200
    assert b"list_path is not a JSONPath expression" in response.content
    assert b"cursor_field is not a JSONPath expression" in response.content
    assert not PullConnector.objects.filter(name="tool-pull").exists()

    # Stored past the form (the shell): the run fails before any request, with the reason.
    connector = make_connector(fake_server, kind="generic_json", source_kind="generic", name="shell-pull",
                               options={"list_path": "$.data["})
    result = services.run_connector(connector.pk)
    assert result.status == "failed" and "list_path is not a JSONPath expression" in result.error
    assert fake_server.received == []
