"""Splunk: the search jobs REST API, one time window per job, read ``page_size`` rows per run.

Documentation followed (the fakes in tests/connectors/connector_fakes.py answer the same shapes):
- Search endpoint descriptions, ``search/jobs`` (POST: ``search``, ``earliest_time``,
  ``latest_time``, ``output_mode``; answers 201 ``{"sid"}``), ``search/jobs/{search_id}``
  (GET: ``entry[0].content.dispatchState`` / ``isDone``) and ``search/jobs/{search_id}/results``
  (GET: ``offset``, ``count``, ``output_mode=json``; answers ``{"results": [...]}``):
  https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTsearch
- Authentication with tokens (``Authorization: Bearer <token>``):
  https://docs.splunk.com/Documentation/Splunk/latest/Security/UseAuthTokens

The cursor is a time window: ``earliest`` (epoch seconds, inclusive) is where the previous
window ended (``latest_time`` is exclusive, so consecutive windows neither overlap nor leave a
gap); a job is dispatched for [earliest, now - settle_seconds) and its rows are read a page per
run (``sid`` and ``offset`` in the cursor). A job that expired meanwhile is dispatched again
for the same window and read from the start: its rows already stored count as re-sends.

Each row is handed to the Splunk adapter as the webhook alert action's body, ``{"sid",
"search_name", "result"}`` (the row's own ``search_name`` when it has one, else the option's),
with a ``sid`` stable across jobs (the connector's name and the
row's bucket), so that the adapter's identity (sid + ``_cd``) of a row is the same whichever job
returned it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from connectors.fetchers.base import FetchError, HttpClient, Page, epoch_datetime, record_digest

if TYPE_CHECKING:
    from connectors.models import PullConnector

DEFAULTS = {"settle_seconds": 60, "start_from": 86400, "max_wait_seconds": 20, "poll_seconds": 1.0}
FINISHED = ("DONE", "FAILED")


def options_for(connector: PullConnector) -> dict[str, Any]:
    return {**DEFAULTS, **(connector.options or {})}


def validate(query: str, options: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if not query.strip():
        errors["query"] = "A Splunk search is required, e.g. search index=notable."
    for name in ("settle_seconds", "start_from", "max_wait_seconds"):
        if name in options and (not isinstance(options[name], (int, float)) or options[name] < 0):
            errors["options"] = f"{name} must be a number of seconds >= 0."
    return errors


def search_text(query: str) -> str:
    text = query.strip()
    return text if text.startswith(("search ", "|")) else f"search {text}"


def _dispatch(client: HttpClient, connector: PullConnector, earliest: float, latest: float) -> str:
    _, body = client.request("POST", "services/search/jobs", data={
        "search": search_text(connector.query), "earliest_time": f"{earliest:.3f}", "latest_time": f"{latest:.3f}",
        "output_mode": "json",
    })
    sid = body.get("sid") if isinstance(body, dict) else None
    if not isinstance(sid, str) or not sid:
        raise FetchError(f"{connector.name}: dispatching the search answered no sid")
    return sid


def _job_state(client: HttpClient, sid: str) -> tuple[str, list[str]] | None:
    """(dispatchState, error messages), or None when the job no longer exists (expired)."""
    status, body = client.request("GET", f"services/search/jobs/{sid}", params={"output_mode": "json"},
                                  expect=(404,))
    if status == 404:
        return None
    try:
        content = body["entry"][0]["content"]
    except (KeyError, IndexError, TypeError):
        raise FetchError(f"{client.connector.name}: the job status has no entry[0].content")
    state = str(content.get("dispatchState") or ("DONE" if content.get("isDone") else "RUNNING"))
    messages = [str(m.get("text", ""))[:200] for m in body.get("messages", []) if isinstance(m, dict)]
    return state, messages


def _wait(client: HttpClient, sid: str, options: dict[str, Any]) -> tuple[str, list[str]] | None:
    deadline = time.monotonic() + float(options["max_wait_seconds"])
    while True:
        state = _job_state(client, sid)
        if state is None or state[0] in FINISHED or time.monotonic() >= deadline:
            return state
        time.sleep(float(options["poll_seconds"]))


def _record(connector: PullConnector, row: dict[str, Any], search_name: str) -> tuple[str, Any]:
    """The row as the webhook alert action's body. Its title is the row's own ``search_name``
    when it has one (notable events and scheduled searches' results name the detection that
    fired): one title for every row would give different detections on one host the same
    fingerprint."""
    bucket, cd = str(row.get("_bkt") or ""), str(row.get("_cd") or "")
    key = f"{bucket}:{cd}" if cd else record_digest(row)
    sid = f"pull:{connector.name}:{bucket}" if bucket else f"pull:{connector.name}"
    own = row.get("search_name")
    title = own if isinstance(own, str) and own.strip() else search_name
    return key, {"sid": sid[:200], "search_name": title, "result": row}


def fetch(connector: PullConnector, cursor: dict[str, Any]) -> Page:
    options = options_for(connector)
    client = HttpClient(connector, auth_scheme="Bearer")
    now = time.time()
    try:
        # Milliseconds, as sent: the stored window bounds are exactly the ones Splunk searched.
        earliest = round(float(cursor.get("earliest") or now - float(options["start_from"])), 3)
        sid, offset = cursor.get("sid"), int(cursor.get("offset") or 0)
        latest = float(cursor.get("latest") or 0)
        if not sid:
            latest = round(now - float(options["settle_seconds"]), 3)
            if latest <= earliest:
                return Page(cursor=dict(cursor), position=epoch_datetime(earliest))
            sid, offset = _dispatch(client, connector, earliest, latest), 0
        window = {"earliest": earliest, "latest": latest}
        state = _wait(client, sid, options)
        if state is None:
            # Expired between runs (the job's TTL): the same window again, from its first row.
            sid, offset = _dispatch(client, connector, earliest, latest), 0
            state = _wait(client, sid, options) or ("RUNNING", [])
        if state[0] == "FAILED":
            raise FetchError(f"{connector.name}: the search job failed: {'; '.join(state[1]) or 'no message'}")
        if state[0] != "DONE":
            # Still running: the next run asks again (the cursor keeps the job).
            return Page(cursor={**window, "sid": sid, "offset": offset}, position=epoch_datetime(earliest))
        _, body = client.request("GET", f"services/search/jobs/{sid}/results", params={
            "output_mode": "json", "offset": offset, "count": connector.page_size})
        rows = body.get("results") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise FetchError(f"{connector.name}: the results answer has no results list")
        search_name = str(options.get("search_name") or connector.name)
        records = [_record(connector, row, search_name) for row in rows if isinstance(row, dict)]
        if len(rows) >= connector.page_size:
            return Page(records, {**window, "sid": sid, "offset": offset + len(rows)}, more=True,
                        position=epoch_datetime(earliest))
        try:
            client.request("DELETE", f"services/search/jobs/{sid}", expect=(404,))
        except FetchError:
            pass  # the job expires by itself
        return Page(records, {"earliest": latest}, more=False, position=epoch_datetime(latest))
    finally:
        client.close()
