"""Elasticsearch / OpenSearch / Wazuh indexer: a point in time (PIT) and ``search_after``.

Documentation followed (request and response shapes; the fakes in
tests/connectors/connector_fakes.py answer the same):
- Paginate search results, search_after and PIT:
  https://www.elastic.co/guide/en/elasticsearch/reference/current/paginate-search-results.html
- Open / close point in time API (``POST /<index>/_pit?keep_alive=``, answer ``{"id"}``;
  ``DELETE /_pit`` with ``{"id"}``):
  https://www.elastic.co/guide/en/elasticsearch/reference/current/point-in-time-api.html
- OpenSearch point in time (``POST /<index>/_search/point_in_time?keep_alive=``, answer
  ``{"pit_id"}``; ``DELETE /_search/point_in_time`` with ``{"pit_id": [...]}``), which the Wazuh
  indexer (an OpenSearch distribution) answers too:
  https://opensearch.org/docs/latest/search-plugins/searching-data/point-in-time-api/

A run searches one page of the PIT sorted on (timestamp, tiebreaker) ascending, after the sort
values stored in the cursor. The tiebreaker is a unique keyword field of the documents
(``kibana.alert.uuid`` for Elastic detection alerts, ``id`` for Wazuh alerts), not the PIT's
``_shard_doc``: the cursor outlives the PIT (a PIT is kept only while a backlog is paged through;
once caught up the next run opens a fresh one, which sees the new documents), so its sort
values must mean the same in every PIT. Elasticsearch appends its implicit ``_shard_doc`` to
the sort values; sent back in a new PIT it never decides anything, the tiebreaker being unique.
Documents newer than ``settle_seconds`` are left for a later run: a detection rule's documents
are written in bulk, and one indexed late with an older timestamp would otherwise fall behind
the cursor."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from connectors.fetchers.base import FetchError, HttpClient, Page, epoch_datetime

if TYPE_CHECKING:
    from connectors.models import PullConnector

DEFAULTS = {
    "elasticsearch": {"index": ".alerts-security.alerts-*", "timestamp_field": "@timestamp",
                      "tiebreaker": "kibana.alert.uuid", "pit_api": "elasticsearch"},
    "wazuh_indexer": {"index": "wazuh-alerts-*", "timestamp_field": "timestamp", "tiebreaker": "id",
                      "pit_api": "opensearch"},
}
COMMON = {"settle_seconds": 30, "keep_alive": "5m", "start_from": "now-1d"}
PIT_APIS = ("elasticsearch", "opensearch")


def options_for(connector: PullConnector) -> dict[str, Any]:
    return {**COMMON, **DEFAULTS[connector.kind], **(connector.options or {})}


def query_clause(text: str) -> dict[str, Any] | None:
    """The admin's query DSL object, or None (every document)."""
    if not text.strip():
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the query must be a JSON object (a query DSL clause)")
    return value


def validate(query: str, options: dict[str, Any]) -> dict[str, str]:
    errors = {}
    try:
        query_clause(query)
    except ValueError as exc:
        errors["query"] = f"Not a query DSL object: {exc}"
    if options.get("pit_api", "elasticsearch") not in PIT_APIS:
        errors["options"] = f"pit_api must be one of {', '.join(PIT_APIS)}."
    for name in ("index", "timestamp_field", "tiebreaker"):
        if name in options and (not isinstance(options[name], str) or not options[name].strip()):
            errors["options"] = f"{name} must be a non-empty string."
    return errors


class _Pit:
    """The two PIT dialects."""

    def __init__(self, client: HttpClient, api: str, index: str, keep_alive: str):
        self.client, self.api, self.index, self.keep_alive = client, api, index, keep_alive

    def open(self) -> str:
        if self.api == "opensearch":
            _, body = self.client.request("POST", f"{self.index}/_search/point_in_time",
                                          params={"keep_alive": self.keep_alive})
            pit = body.get("pit_id") if isinstance(body, dict) else None
        else:
            _, body = self.client.request("POST", f"{self.index}/_pit", params={"keep_alive": self.keep_alive})
            pit = body.get("id") if isinstance(body, dict) else None
        if not isinstance(pit, str) or not pit:
            raise FetchError(f"{self.client.connector.name}: opening a point in time answered no id")
        return pit

    def close(self, pit: str) -> None:
        """Best effort: an unclosed PIT expires after keep_alive anyway."""
        try:
            if self.api == "opensearch":
                self.client.request("DELETE", "_search/point_in_time", json_body={"pit_id": [pit]}, expect=(404,))
            else:
                self.client.request("DELETE", "_pit", json_body={"id": pit}, expect=(404,))
        except FetchError:
            pass


def _search_body(connector: PullConnector, options: dict[str, Any], pit: str, search_after: list | None) -> dict:
    ts = options["timestamp_field"]
    window: dict[str, Any] = {"lte": f"now-{int(options['settle_seconds'])}s"}
    if search_after is None and options.get("start_from"):
        window["gte"] = options["start_from"]
    filters: list[dict[str, Any]] = [{"range": {ts: window}}]
    clause = query_clause(connector.query)
    if clause is not None:
        filters.append(clause)
    body: dict[str, Any] = {
        "size": connector.page_size,
        "query": {"bool": {"filter": filters}},
        "pit": {"id": pit, "keep_alive": options["keep_alive"]},
        "sort": [{ts: {"order": "asc"}}, {options["tiebreaker"]: {"order": "asc"}}],
        "track_total_hits": False,
    }
    if search_after is not None:
        body["search_after"] = search_after
    return body


def _is_missing_pit(error: FetchError) -> bool:
    text = str(error)
    return error.status == 404 or "search_context_missing" in text or "No search context" in text


def fetch(connector: PullConnector, cursor: dict[str, Any]) -> Page:
    options = options_for(connector)
    client = HttpClient(connector, auth_scheme="ApiKey" if connector.kind == "elasticsearch" else "Bearer")
    pits = _Pit(client, options["pit_api"], options["index"], options["keep_alive"])
    search_after = cursor.get("search_after")
    try:
        pit = cursor.get("pit_id") or pits.open()
        try:
            _, body = client.request("POST", "_search", json_body=_search_body(connector, options, pit, search_after))
        except FetchError as exc:
            if not cursor.get("pit_id") or not _is_missing_pit(exc):
                raise
            # The backlog's PIT expired between runs (keep_alive): the cursor's sort values hold.
            pit = pits.open()
            _, body = client.request("POST", "_search", json_body=_search_body(connector, options, pit, search_after))
        hits = body.get("hits", {}).get("hits") if isinstance(body, dict) else None
        if not isinstance(hits, list):
            raise FetchError(f"{connector.name}: the search answer has no hits.hits list")
        pit = body.get("pit_id") or pit  # always continue with the most recent PIT id
        records = [(f"{hit.get('_index', '')}/{hit.get('_id', '')}", hit) for hit in hits if isinstance(hit, dict)]
        more = len(hits) >= connector.page_size
        next_cursor = dict(cursor)
        next_cursor.pop("pit_id", None)
        if hits:
            last_sort = hits[-1].get("sort")
            if not isinstance(last_sort, list) or not last_sort:
                raise FetchError(f"{connector.name}: the hits carry no sort values")
            next_cursor["search_after"] = last_sort
        if more:
            next_cursor["pit_id"] = pit
        else:
            pits.close(pit)
        position = None
        if hits and isinstance(next_cursor["search_after"][0], (int, float)):
            position = epoch_datetime(next_cursor["search_after"][0] / 1000)
        return Page(records=records, cursor=next_cursor, more=more, position=position)
    finally:
        client.close()
