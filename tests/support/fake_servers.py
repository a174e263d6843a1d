"""A programmable HTTP server on 127.0.0.1 for connector tests: routes answer in the real
APIs' documented shapes, can answer 429 with Retry-After, 5xx, or sleep (timeouts), and
every request received is recorded."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "enrichment"


def fixture_json(name: str):
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Reply:
    status: int = 200
    json: object = None
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None  # None: answer this forever


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    # Set for routes made idempotent with FakeServer.idempotent(): a repeated key is a replay.
    replayed: bool = False
    status: int = 0

    @property
    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class FakeServer:
    def __init__(self):
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.idempotent_routes: dict[tuple[str, str], str] = {}
        self.first_replies: dict[tuple[str, str, str], Reply] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Received(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                   {k.lower(): v for k, v in self.headers.items()}, body)
                reply = server._next_reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.json).encode() if reply.json is not None else reply.body
                try:
                    self.send_response(reply.status)
                    if reply.json is not None:
                        self.send_header("Content-Type", "application/json")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = do_PUT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, method: str, path: str, **reply) -> FakeServer:
        """Queue a reply for (method, path); replies with ``times`` are used up in order."""
        self.routes.setdefault((method.upper(), path), []).append(Reply(**reply))
        return self

    def idempotent(self, method: str, path: str, header: str = "Idempotency-Key") -> FakeServer:
        """Make (method, path) behave like an API that supports idempotency keys: a request
        repeating the key of an earlier successful one gets that first answer again, at once,
        and is recorded with ``replayed=True`` instead of counting as a new action."""
        self.idempotent_routes[(method.upper(), path)] = header.lower()
        return self

    def effective_count(self, path: str) -> int:
        """Requests to ``path`` that acted: answered 2xx and not replays of an idempotency key."""
        return sum(1 for r in self.received if r.path == path and not r.replayed and 200 <= r.status < 300)

    def _next_reply(self, request: Received) -> Reply:
        with self.lock:
            self.received.append(request)
            route = (request.method, request.path)
            header = self.idempotent_routes.get(route)
            key = request.headers.get(header) if header else None
            if key and (*route, key) in self.first_replies:
                request.replayed = True
                first = self.first_replies[(*route, key)]
                request.status = first.status
                return replace(first, delay=0.0, times=None)
            queue = self.routes.get(route)
            if not queue:
                request.status = 404
                return Reply(404, json={"error": "no such route in fake server"})
            reply = queue[0]
            if reply.times is not None:
                reply.times -= 1
                if reply.times <= 0 and len(queue) > 1:
                    queue.pop(0)
            request.status = reply.status
            if key and 200 <= reply.status < 300:
                self.first_replies[(*route, key)] = replace(reply)
            return reply

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.received if path is None or r.path == path)

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def allow_localhost(settings):
    """Connector tests talk to 127.0.0.1, which the SSRF guard refuses unless allowlisted."""
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    settings.SOAR_ENRICHMENT_MAX_RETRY_AFTER_SECONDS = 2
    return settings
