"""Loopback fakes of the APIs the pull connectors read, built on tests/support/fake_servers.py's
FakeServer: they keep documents and answer the documented request shapes with the documented
response shapes. A reply queued with ``add(method, path, ...)`` (a 401, a 429 with Retry-After)
is answered before the fake's own behaviour, for failure tests.

Where each shape comes from:

FakeSearch (Elasticsearch, and OpenSearch / the Wazuh indexer with ``api="opensearch"``):
- ``POST /<index>/_pit?keep_alive=1m`` -> ``{"id": "..."}`` and ``DELETE /_pit`` with
  ``{"id": "..."}`` -> ``{"succeeded": true, "num_freed": 1}``: Elasticsearch "Open point in
  time API" / "Close point in time API",
  https://www.elastic.co/guide/en/elasticsearch/reference/current/point-in-time-api.html
- ``POST /_search`` with ``pit``, ``sort``, ``search_after``, ``size`` -> ``{"pit_id", "took",
  "timed_out", "_shards", "hits": {"total", "max_score": null, "hits": [{"_index", "_id",
  "_score": null, "_source", "sort": [..., <implicit _shard_doc>]}]}}``; an unknown or expired
  PIT -> 404 ``search_context_missing_exception``: "Paginate search results" (search_after,
  PIT, the implicit ``_shard_doc`` tiebreaker),
  https://www.elastic.co/guide/en/elasticsearch/reference/current/paginate-search-results.html
- A refused API key -> 401 ``security_exception`` ("unable to authenticate with provided
  credentials"): https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-authenticate.html
- OpenSearch: ``POST /<index>/_search/point_in_time?keep_alive=`` -> ``{"pit_id", "_shards",
  "creation_time"}``, ``DELETE /_search/point_in_time`` with ``{"pit_id": [...]}`` -> ``{"pits":
  [{"successful": true, "pit_id"}]}``:
  https://opensearch.org/docs/latest/search-plugins/searching-data/point-in-time-api/
- OpenSearch / the Wazuh indexer refuse a wrong user or password in the security plugin, before
  any API: 401 with ``WWW-Authenticate: Basic realm="OpenSearch Security"`` and a short text
  body, not JSON (empty in some versions, "Unauthorized" or "Authentication finally failed" in
  others: opensearch-project/security issues #4214, #3803 and #5544). The Wazuh indexer's
  internal users log in with HTTP basic auth (its installation guide's check: ``curl -k -u
  admin:<ADMIN_PASSWORD> https://<WAZUH_INDEXER_IP>:9200``),
  https://documentation.wazuh.com/current/installation-guide/wazuh-indexer/step-by-step.html

FakeSplunk:
- ``POST /services/search/jobs`` (form: ``search``, ``earliest_time``, ``latest_time``,
  ``output_mode=json``) -> 201 ``{"sid": "..."}``; ``GET /services/search/jobs/{sid}`` ->
  ``{"entry": [{"name", "content": {"dispatchState": "DONE", "isDone": true, "resultCount"}}]}``
  (404 once expired); ``GET /services/search/jobs/{sid}/results?offset=&count=&output_mode=json``
  -> ``{"preview": false, "init_offset", "messages": [], "fields": [...], "results": [...]}``:
  Splunk REST API reference, Search endpoints,
  https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTsearch
- Token authentication ``Authorization: Bearer <token>``, refused with 401 ``{"messages":
  [{"type": "WARN", "text": "call not properly authenticated"}]}``:
  https://docs.splunk.com/Documentation/Splunk/latest/Security/UseAuthTokens

FakeServer routes for the generic JSON kind are plain ``add()`` replies (any API's shape)."""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qs

from tests.support.fake_servers import FakeServer, Received, Reply

API_KEY = "es-api-key-0123456789"  # the fake's accepted credential (tests check it never leaks)


def _answer_delete(server: FakeServer) -> None:
    """The shared FakeServer answers GET/POST/PUT; these APIs also close PITs and jobs with DELETE."""
    handler = server.httpd.RequestHandlerClass
    handler.do_DELETE = handler.do_GET  # type: ignore[attr-defined]


def _millis(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def detection_alert(n: int, *, at: str | None = None, host: str = "web-01") -> dict:
    """An Elastic Security detection alert document (the fields the elastic adapter reads)."""
    return {
        "@timestamp": at or f"2026-11-25T10:{n // 60:02d}:{n % 60:02d}.000Z",
        "kibana.alert.uuid": f"uuid-{n:04d}",
        "kibana.alert.rule.name": f"Rule {n}",
        "kibana.alert.severity": "high",
        "kibana.alert.risk_score": 73,
        "host": {"name": host},
    }


class FakeSearch(FakeServer):
    """Elasticsearch (``api="elasticsearch"``) or OpenSearch / Wazuh indexer (``"opensearch"``):
    a store of documents in one index, PITs that freeze what they see when opened, sort on
    (timestamp, tiebreaker) ascending and ``search_after`` on the returned sort values."""

    def __init__(self, index: str, *, api: str = "elasticsearch", timestamp_field: str = "@timestamp",
                 tiebreaker: str = "kibana.alert.uuid", auth: str = f"ApiKey {API_KEY}"):
        super().__init__()
        _answer_delete(self)
        self.index, self.api, self.ts, self.tiebreaker, self.auth = index, api, timestamp_field, tiebreaker, auth
        self.docs: list[dict] = []
        self.pits: dict[str, list[dict]] = {}
        self.pits_opened = 0
        self._ids = itertools.count(1)
        self.searches: list[dict] = []
        self.search_delay = 0.0  # seconds each search answer takes (a slow cluster: overlapping runs)

    def index_docs(self, docs: list[dict]) -> None:
        with self.lock:
            self.docs.extend(docs)

    def expire_pits(self) -> None:
        with self.lock:
            self.pits.clear()

    def _next_reply(self, request: Received) -> Reply:
        if self.routes.get((request.method, request.path)):
            return super()._next_reply(request)
        with self.lock:
            self.received.append(request)
            if request.headers.get("authorization") != self.auth:
                request.status = 401
                if self.api == "opensearch":
                    return Reply(401, body=b"Unauthorized", headers={
                        "WWW-Authenticate": 'Basic realm="OpenSearch Security"', "Content-Type": "text/plain"})
                return Reply(401, json={"error": {"type": "security_exception", "reason": "unable to authenticate "
                                        f"with provided credentials ({request.headers.get('authorization')})"},
                                        "status": 401})
            reply = self._answer(request)
            request.status = reply.status
            return reply

    def _answer(self, request: Received) -> Reply:
        pit_path = f"/{self.index}/_pit" if self.api == "elasticsearch" else f"/{self.index}/_search/point_in_time"
        close_path = "/_pit" if self.api == "elasticsearch" else "/_search/point_in_time"
        if request.method == "POST" and request.path == pit_path:
            pit = f"pit-{next(self._ids)}"
            self.pits[pit] = list(self.docs)
            self.pits_opened += 1
            if self.api == "elasticsearch":
                return Reply(200, json={"id": pit})
            return Reply(200, json={"pit_id": pit, "_shards": {"total": 1, "successful": 1, "skipped": 0,
                                                                "failed": 0}, "creation_time": 1764064800000})
        if request.method == "DELETE" and request.path == close_path:
            body = json.loads(request.body or b"{}")
            ids = body.get("id") if self.api == "elasticsearch" else (body.get("pit_id") or [None])[0]
            freed = self.pits.pop(ids, None) is not None
            if self.api == "elasticsearch":
                return Reply(200, json={"succeeded": True, "num_freed": int(freed)})
            return Reply(200, json={"pits": [{"successful": freed, "pit_id": ids}]})
        if request.method == "POST" and request.path == "/_search":
            return self._search(json.loads(request.body))
        return Reply(404, json={"error": "no such route in fake search"})

    def _search(self, body: dict) -> Reply:
        self.searches.append(body)
        pit = body.get("pit", {}).get("id")
        if pit not in self.pits:
            return Reply(404, json={"error": {"root_cause": [{"type": "search_context_missing_exception",
                                                              "reason": f"No search context found for id [{pit}]"}],
                                              "type": "search_phase_execution_exception"}, "status": 404})
        sort_fields = [next(iter(item)) for item in body["sort"]]
        assert sort_fields == [self.ts, self.tiebreaker], sort_fields
        docs = sorted(self.pits[pit], key=lambda d: (_millis(d[self.ts]), d[self.tiebreaker]))
        after = body.get("search_after")
        if after is not None:
            docs = [d for d in docs if (_millis(d[self.ts]), d[self.tiebreaker]) > (after[0], after[1])]
        page = docs[: body["size"]]
        hits = [{"_index": self.index.replace("*", "default"), "_id": doc[self.tiebreaker], "_score": None,
                 "_source": doc, "sort": [_millis(doc[self.ts]), doc[self.tiebreaker], position]}
                for position, doc in enumerate(page)]
        return Reply(200, delay=self.search_delay, json={"pit_id": pit, "took": 1, "timed_out": False,
                                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                                "hits": {"total": {"value": len(docs), "relation": "eq"}, "max_score": None,
                                         "hits": hits}})


class FakeSplunk(FakeServer):
    """Splunk's search jobs API over rows kept with an epoch ``_time``: a job selects the rows
    in [earliest_time, latest_time) and is DONE at once (or after ``running_polls`` polls)."""

    def __init__(self, token: str = "splunk-token-abcdef"):
        super().__init__()
        _answer_delete(self)
        self.token = token
        self.rows: list[dict] = []
        self.jobs: dict[str, list[dict]] = {}
        self.dispatched: list[dict] = []
        self.running_polls = 0
        self._ids = itertools.count(1)

    def _next_reply(self, request: Received) -> Reply:
        if self.routes.get((request.method, request.path)):
            return super()._next_reply(request)
        with self.lock:
            self.received.append(request)
            if request.headers.get("authorization") != f"Bearer {self.token}":
                reply = Reply(401, json={"messages": [{"type": "WARN", "text": "call not properly authenticated"}]})
            else:
                reply = self._answer(request)
            request.status = reply.status
            return reply

    def _answer(self, request: Received) -> Reply:
        prefix = "/services/search/jobs"
        if request.method == "POST" and request.path == prefix:
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            self.dispatched.append(form)
            earliest, latest = float(form["earliest_time"]), float(form["latest_time"])
            sid = f"1764064800.{next(self._ids)}"
            self.jobs[sid] = [r for r in self.rows if earliest <= float(r["_time"]) < latest]
            return Reply(201, json={"sid": sid})
        rest = request.path.removeprefix(prefix + "/")
        sid, _, tail = rest.partition("/")
        if sid not in self.jobs:
            return Reply(404, json={"messages": [{"type": "FATAL", "text": f"Unknown sid {sid}"}]})
        if request.method == "GET" and not tail:
            done = self.running_polls <= 0
            self.running_polls -= 1
            return Reply(200, json={"entry": [{"name": sid, "content": {
                "sid": sid, "dispatchState": "DONE" if done else "RUNNING", "isDone": done,
                "resultCount": len(self.jobs[sid])}}], "messages": []})
        if request.method == "GET" and tail == "results":
            offset, count = int(request.query.get("offset", 0)), int(request.query.get("count", 100))
            rows = self.jobs[sid][offset: offset + count]
            return Reply(200, json={"preview": False, "init_offset": offset, "messages": [],
                                    "fields": [{"name": "_time"}, {"name": "src"}], "results": rows})
        if request.method == "DELETE" and not tail:
            self.jobs.pop(sid, None)
            return Reply(200, json={"messages": [{"type": "INFO", "text": "Search job cancelled."}]})
        return Reply(404, json={"messages": [{"type": "FATAL", "text": "no such route"}]})
