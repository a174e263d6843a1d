"""Splunk (search jobs: one time window per job, pages read by offset; the search quota's 503; a
crash after part of a page was written) and generic JSON (a list at a dotted path, a cursor field
sent back as a query parameter, 429 with Retry-After; JSONPath in test_connectors_real_documents)."""

import time

import pytest

from alerts.models import Alert
from connectors import services
from connectors.models import PullConnector

pytestmark = pytest.mark.django_db


def splunk_row(n, at):
    return {"_time": f"{at:.3f}", "_cd": f"12:{n}", "_bkt": "notable~12~AB12", "src": f"203.0.113.{n}",
            "severity": "high", "search_name": "Brute force"}


def test_splunk_windows_and_pages_without_gap_or_duplicate(splunk, make_connector):
    now = time.time()
    splunk.rows = [splunk_row(n, now - 3000 + n) for n in range(5)]
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret=splunk.token, page_size=2, query="index=notable")

    first = services.run_connector(connector.pk)
    assert (first.records, first.more) == (2, True)
    job = splunk.dispatched[0]
    assert job["search"] == "search index=notable" and job["output_mode"] == "json"
    assert float(job["latest_time"]) == pytest.approx(now - 60, abs=5)  # settle_seconds
    assert float(job["latest_time"]) - float(job["earliest_time"]) == pytest.approx(86400 - 60, abs=5)
    connector.refresh_from_db()
    assert connector.cursor["offset"] == 2 and connector.cursor["sid"]

    assert services.run_connector(connector.pk).records == 2
    last = services.run_connector(connector.pk)
    assert (last.records, last.more) == (1, False)
    assert len(splunk.dispatched) == 1  # one job for the window, read a page per run
    assert Alert.objects.count() == 5 and set(Alert.objects.values_list("entity_value", flat=True)) == {
        f"203.0.113.{n}" for n in range(5)}
    connector.refresh_from_db()
    assert connector.cursor == {"earliest": float(job["latest_time"])}

    # The next window starts exactly where the last one ended (latest_time is exclusive).
    PullConnector.objects.filter(pk=connector.pk).update(cursor={"earliest": float(job["latest_time"]) - 1000})
    splunk.rows.append(splunk_row(9, float(job["latest_time"]) - 500))
    assert services.run_connector(connector.pk, ignore_schedule=True).created == 1
    assert float(splunk.dispatched[-1]["earliest_time"]) == pytest.approx(float(job["latest_time"]) - 1000)


def test_splunk_job_expired_between_runs_is_dispatched_again_for_the_same_window(splunk, make_connector):
    now = time.time()
    splunk.rows = [splunk_row(n, now - 3000 + n) for n in range(3)]
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret=splunk.token, page_size=2, query="search index=notable")
    services.run_connector(connector.pk)
    splunk.jobs.clear()  # the job's TTL passed
    result = services.run_connector(connector.pk)
    assert result.status == "ok" and len(splunk.dispatched) == 2
    assert splunk.dispatched[0]["earliest_time"] == splunk.dispatched[1]["earliest_time"]
    assert splunk.dispatched[0]["latest_time"] == splunk.dispatched[1]["latest_time"]
    services.run_connector(connector.pk)
    assert Alert.objects.count() == 3  # re-read rows count as re-sends


def test_splunk_running_job_is_polled_again_at_the_next_run(splunk, make_connector):
    now = time.time()
    splunk.rows = [splunk_row(1, now - 3000)]
    splunk.running_polls = 100
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret=splunk.token, query="index=notable",
                               options={"max_wait_seconds": 0.2, "poll_seconds": 0.05})
    assert services.run_connector(connector.pk).records == 0
    connector.refresh_from_db()
    sid = connector.cursor["sid"]
    splunk.running_polls = 0
    assert services.run_connector(connector.pk, ignore_schedule=True).records == 1
    assert len(splunk.dispatched) == 1 and Alert.objects.get().source_ref.startswith("pull:splunk-pull:")
    assert sid


def test_splunk_auth_failure(splunk, make_connector):
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret="bad-token-123", query="index=notable")
    assert services.run_connector(connector.pk).status == "failed"
    connector.refresh_from_db()
    assert "HTTP 401" in connector.last_error and connector.consecutive_failures == 1


def test_generic_json_follows_the_dotted_path_and_sends_the_cursor_back(fake_server, make_connector):
    # Records in the generic adapter's schema (the source's kind), the cursor under data.
    items = [{"source_ref": f"evt-{n}", "data": {"updated": n}, "title": f"Suspicious login {n}",
              "severity": "high", "entity": {"type": "ip", "value": f"198.51.100.{n}"}} for n in range(1, 4)]
    fake_server.add("GET", "/api/alerts", json={"data": {"items": items[:2]}}, times=1)
    unreadable = {"source_ref": "evt-bad", "data": {"updated": 9}}  # no title
    fake_server.add("GET", "/api/alerts", json={"data": {"items": [*items[2:], unreadable]}},
                    times=1)
    fake_server.add("GET", "/api/alerts", json={"data": {"items": []}})
    connector = make_connector(fake_server, kind="generic_json", source_kind="generic", name="tool-pull",
                               secret="tool-token", page_size=2, query='{"status": "open"}',
                               options={"list_path": "data.items", "cursor_field": "data.updated",
                                        "cursor_param": "since", "id_field": "source_ref"})
    connector.endpoint = fake_server.url + "/api/alerts"
    connector.save()

    first = services.run_connector(connector.pk)
    assert (first.records, first.more) == (2, True)
    second = services.run_connector(connector.pk)
    # A record the generic adapter refuses (no title) is skipped, reported, and does not hold the cursor.
    assert (second.records, second.created, second.rejected) == (2, 1, 1)
    assert services.run_connector(connector.pk).records == 0
    queries = [r.query for r in fake_server.received]
    assert queries[0] == {"status": "open", "limit": "2"}
    assert queries[1] == {"status": "open", "limit": "2", "since": "2"}
    assert queries[2]["since"] == "9"
    assert all(r.headers["authorization"] == "Bearer tool-token" for r in fake_server.received)
    connector.refresh_from_db()
    assert connector.cursor == {"value": 9} and connector.records_rejected_total == 1
    assert "evt-bad" in connector.last_warning
    assert sorted(Alert.objects.values_list("title", flat=True)) == [f"Suspicious login {n}" for n in range(1, 4)]


def test_splunk_search_quota_503_backs_off_and_keeps_the_window(splunk, make_connector):
    """Splunk refuses a dispatch over the role's or the instance's concurrent-search quota with
    503 and a FATAL message (no Retry-After): "Search not executed: The maximum number of
    concurrent historical searches ... has been reached." (as quoted by users of the REST API,
    e.g. hasadna/open-bus#177)."""
    now = time.time()
    splunk.rows = [splunk_row(1, now - 3000)]
    text = ("Search not executed: The maximum number of concurrent historical searches for this user based on "
            "their role quota has been reached., concurrency_category=\"historical\", "
            "concurrency_context=\"user_instance-wide\", current_concurrency=3, concurrency_limit=3")
    splunk.add("POST", "/services/search/jobs", status=503, json={"messages": [{"type": "FATAL", "text": text}]},
               times=1)
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret=splunk.token, query="index=notable", interval_seconds=60)
    assert services.run_connector(connector.pk).status == "failed"
    connector.refresh_from_db()
    assert "HTTP 503" in connector.last_error and "maximum number of concurrent" in connector.last_error
    assert connector.cursor == {} and connector.consecutive_failures == 1
    assert 119 <= (connector.next_run_at - connector.last_run_at).total_seconds() <= 121
    splunk.routes.clear()
    assert services.run_connector(connector.pk, ignore_schedule=True).created == 1


def test_splunk_crash_after_storing_part_of_a_page_rolls_back_and_rereads_the_offset(
        splunk, make_connector, monkeypatch):
    now = time.time()
    splunk.rows = [splunk_row(n, now - 3000 + n) for n in range(4)]
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret=splunk.token, page_size=2, query="index=notable")
    assert services.run_connector(connector.pk).records == 2
    connector.refresh_from_db()
    committed = dict(connector.cursor)

    real = services.ingest_pulled

    def stored_then_killed(source, records):
        real(source, records)  # the page's alerts are written in the run's transaction...
        raise RuntimeError("worker killed before the commit")  # ...which never commits

    monkeypatch.setattr(services, "ingest_pulled", stored_then_killed)
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "failed"
    connector.refresh_from_db()
    assert connector.cursor == committed and Alert.objects.count() == 2

    monkeypatch.setattr(services, "ingest_pulled", real)
    assert services.run_connector(connector.pk, ignore_schedule=True).records == 2
    assert Alert.objects.count() == 4 and set(Alert.objects.values_list("occurrence_count", flat=True)) == {1}
    assert len(splunk.dispatched) == 1  # the job kept in the cursor was read again at the same offset


def test_generic_json_429_honours_retry_after_and_keeps_the_cursor(fake_server, make_connector):
    items = [{"source_ref": "evt-1", "title": "Suspicious login", "severity": "high", "data": {"updated": 5}}]
    fake_server.add("GET", "/api/alerts", json={"data": items}, times=1)
    fake_server.add("GET", "/api/alerts", status=429, headers={"Retry-After": "300"},
                    json={"error": "rate limited"}, times=1)
    fake_server.add("GET", "/api/alerts", json={"data": []})
    connector = make_connector(fake_server, kind="generic_json", source_kind="generic", name="tool-pull",
                               secret="tool-token", page_size=1, options={
                                   "list_path": "$.data", "cursor_field": "data.updated", "id_field": "source_ref"})
    PullConnector.objects.filter(pk=connector.pk).update(endpoint=fake_server.url + "/api/alerts")
    assert services.run_connector(connector.pk).more
    limited = services.run_connector(connector.pk)
    assert limited.status == "failed" and "HTTP 429" in limited.error
    connector.refresh_from_db()
    assert connector.cursor == {"value": 5}
    assert (connector.next_run_at - connector.last_run_at).total_seconds() >= 299
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "ok"
    assert fake_server.received[-1].query["since"] == "5" and Alert.objects.count() == 1


def test_splunk_rows_are_titled_by_their_own_search_name(splunk, make_connector):
    """Notable events name the correlation search that fired: different detections on one host
    keep different titles (and fingerprints); a row without one gets the option's title."""
    now = time.time()
    brute = splunk_row(1, now - 3000)
    beacon = {**splunk_row(2, now - 2999), "src": brute["src"], "search_name": "Network - Beaconing - Rule"}
    untitled = {key: value for key, value in splunk_row(3, now - 2998).items() if key != "search_name"}
    splunk.rows = [brute, beacon, untitled]
    connector = make_connector(splunk, kind="splunk", source_kind="splunk", name="splunk-pull",
                               secret=splunk.token, page_size=10, query="index=notable",
                               options={"search_name": "Splunk notable"})
    assert services.run_connector(connector.pk).created == 3
    on_one_host = Alert.objects.filter(entity_value=brute["src"])
    assert sorted(on_one_host.values_list("title", flat=True)) == ["Brute force", "Network - Beaconing - Rule"]
    assert on_one_host.values("fingerprint").distinct().count() == 2
    assert Alert.objects.get(entity_value=untitled["src"]).title == "Splunk notable"
