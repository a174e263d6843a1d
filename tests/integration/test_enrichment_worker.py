"""Enrichment on the real stack: an alert ingested through the service opens a case on a
Celery worker, which queues enrichment; a threat-intel server on 127.0.0.1 answers and the
evidence lands on the case timeline."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.services import ingest
from cases.models import Case, CaseEvent
from enrichment.models import EnrichmentResult, EnrichmentRule, ProviderConfig

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def intel_server():
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            known = self.path == "/lookup/ip/203.0.113.77"
            body = json.dumps({"verdict": "malicious" if known else "unknown", "score": 97 if known else 0,
                               "summary": "Known C2 server" if known else "not listed"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.hits = hits
    yield server
    server.shutdown()
    server.server_close()


def test_worker_enriches_new_case_from_local_intel_server(make_source, celery_worker, wait_until, intel_server):
    port = intel_server.server_address[1]
    ProviderConfig.objects.create(provider="generic_json", base_url=f"http://127.0.0.1:{port}", timeout_seconds=5,
                                  rate_limit_per_minute=0, options={"types": ["ip"]})
    EnrichmentRule.objects.create(name="intel says malicious", verdict="malicious", provider="generic_json",
                                  raise_severity_to="critical", raise_confidence_to=99)
    source, _ = make_source(name="enrich-it")
    alert = {"title": "Beacon to C2", "severity": "high", "confidence": 90,
             "entity": {"type": "ip", "value": "203.0.113.77"}, "source_ref": "enrich-it-1"}
    stored = ingest(source, [alert])
    assert stored[0].created

    event = wait_until(lambda: CaseEvent.objects.filter(kind=CaseEvent.Kind.ENRICHMENT,
                                                        data__provider="generic_json").first(),
                       timeout=120, message="enrichment evidence on the case timeline")
    assert event.data["verdict"] == "malicious" and event.data["score"] == 97
    assert event.data["observable"] == "ip:203.0.113.77" and event.data["summary"] == "Known C2 server"
    result = EnrichmentResult.objects.get(provider="generic_json", case=event.case)
    assert result.raw == {"verdict": "malicious", "score": 97, "summary": "Known C2 server"}
    assert intel_server.hits == ["/lookup/ip/203.0.113.77"]
    case = wait_until(lambda: Case.objects.filter(pk=event.case_id, severity="critical").first(), timeout=120,
                      message="severity raised by the enrichment rule")
    assert case.confidence == 99
