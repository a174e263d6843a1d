"""What the server writes out: hostile alert strings are inert in the HTML, secrets appear in
no log line and in no admin page, and every log line of a request carries its request id."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import time

import pytest

from alerts.models import Alert
from cases import services
from cases.models import AuditLog, Case
from enrichment.models import ProviderConfig
from tests.factories import build_world

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
TEMPLATE_EXPR = "{{ 7*7 }}"
TEMPLATE_TAG = '{% now "Y" %}'
HOSTILE_ALERT = {
    "title": f"{SCRIPT} {TEMPLATE_EXPR} {TEMPLATE_TAG} beacon",
    "description": f"{IMG} {TEMPLATE_TAG} details",
    "severity": "critical",
    "confidence": 95,
    "entity": {"type": "hostname", "value": f"ws-{TEMPLATE_EXPR}.example.com"},
    "observables": [{"type": "user", "value": f"{SCRIPT}"}],
}


def post_alert(client, token, body: dict, **headers):
    return client.post("/api/v1/alerts", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def test_hostile_alert_strings_are_escaped_in_every_page(client, make_source):
    world = build_world()
    _, token = make_source(team=world.blue)
    response = post_alert(client, token, HOSTILE_ALERT)
    assert response.status_code == 202, response.content
    alert = Alert.objects.get(pk=response.json()["alerts"][0]["id"])
    assert alert.title.startswith(SCRIPT) and alert.case is not None  # stored verbatim, escaped on output
    queued = post_alert(client, token, {**HOSTILE_ALERT, "severity": "low", "confidence": 5,
                                        "entity": {"type": "ip", "value": "198.51.100.77"}})
    assert Alert.objects.get(pk=queued.json()["alerts"][0]["id"]).case is None  # shows in the alert queue
    Case.objects.filter(pk=alert.case.pk).update(description=f"{IMG} {TEMPLATE_TAG} <b onclick=x()>b</b>")
    services.add_note(alert.case, f"{IMG} [click](javascript:window.__pwned=1) {TEMPLATE_EXPR}", actor=world.lead)

    client.force_login(world.lead)
    pages = {"case queue": "/", "alert queue": "/alerts/", "case page": f"/cases/{alert.case.pk}/"}
    for name, url in pages.items():
        html = client.get(url).content.decode()
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html, name
        assert SCRIPT not in html and "onerror=" not in html.replace("onerror=&quot;", ""), name
        assert not re.search(r"(?i)(href|src|action)\s*=\s*[\"']?\s*javascript:", html), name
        # Evaluated, the title would read "...</script> 49 ..." and the entity "ws-49.example.com"
        # (a bare "49" could be any id or count on the page).
        assert TEMPLATE_EXPR in html and "&lt;/script&gt; 49" not in html and "ws-49." not in html, name
        assert TEMPLATE_TAG.replace('"', "&quot;") in html, name  # literally: not evaluated
    case_page = client.get(pages["case page"]).content.decode()
    assert "onclick" not in case_page and "<img" not in case_page  # markdown is sanitized, not just escaped
    api = client.get(f"/api/v1/cases/{alert.case.pk}").json()
    assert SCRIPT in json.dumps(api)  # the API returns data, not HTML: the client escapes


def test_source_token_and_hmac_secret_never_reach_the_logs(client, make_source, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "hmac-secret-" + "k" * 24
    _, token = make_source(hmac_secret=secret)
    body = json.dumps({**HOSTILE_ALERT, "title": "signed"}).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    ok = client.post("/api/v1/alerts", data=body, content_type="application/json",
                     HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_SOAR_TIMESTAMP=timestamp,
                     HTTP_X_SOAR_SIGNATURE=f"sha256={signature}")
    assert ok.status_code == 202, ok.content
    bad_signature = client.post("/api/v1/alerts", data=body, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_SOAR_TIMESTAMP=timestamp,
                                HTTP_X_SOAR_SIGNATURE="sha256=" + "0" * 64)
    wrong_token = post_alert(client, token[:-4] + "AAAA", HOSTILE_ALERT)
    broken_json = client.post("/api/v1/alerts", data=b"{" + token.encode(), content_type="application/json",
                              HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_SOAR_TIMESTAMP=timestamp,
                              HTTP_X_SOAR_SIGNATURE=f"sha256={signature}")
    assert (bad_signature.status_code, wrong_token.status_code, broken_json.status_code) == (401, 401, 401)
    assert caplog.records  # the refusals were logged...
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for value in (token, token[5:], secret, signature):
        assert value not in logged  # ...without the credentials
        for response in (bad_signature, wrong_token, broken_json):
            assert value not in response.content.decode()
    stored = json.dumps([list(Alert.objects.values()), list(AuditLog.objects.values())], default=str)
    assert token not in stored and secret not in stored


def test_provider_api_key_is_in_no_admin_page(client):
    world = build_world()
    api_key = "vt-api-key-" + "z" * 30
    config = ProviderConfig.objects.create(provider="virustotal", api_key=api_key, base_url="https://vt.example")
    client.force_login(world.admin)
    for url in ("/admin/enrichment/providerconfig/", f"/admin/enrichment/providerconfig/{config.pk}/change/",
                f"/admin/enrichment/providerconfig/{config.pk}/history/", "/api/v1/enrichment/providers"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert api_key not in response.content.decode(), url


def test_admin_requires_staff(client):
    world = build_world()
    client.force_login(world.lead)  # a team lead, not staff
    for url in ("/admin/", "/admin/alerts/alertsource/", "/admin/enrichment/providerconfig/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    client.force_login(world.admin)
    assert client.get("/admin/alerts/alertsource/").status_code == 200


def test_log_lines_of_a_request_carry_its_request_id(client):
    console = next(h for h in logging.getLogger().handlers if any(
        f.__class__.__name__ == "RequestIdLogFilter" for f in h.filters))
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        response = client.post("/api/v1/alerts", data="{}", content_type="application/json",
                               HTTP_AUTHORIZATION="Bearer nope", HTTP_X_REQUEST_ID="req-abc.123")
        forged = client.get("/api/v1/cases", HTTP_X_REQUEST_ID="bad id\nINFO forged line")
    finally:
        console.setStream(previous)
    assert response.status_code == 401 and response["X-Request-ID"] == "req-abc.123"
    lines = stream.getvalue().splitlines()
    assert any("[req-abc.123]" in line and "Unauthorized" in line for line in lines), lines
    # A header that is not a safe id is replaced, so nobody writes lines into our logs.
    assert forged["X-Request-ID"] != "bad id\nINFO forged line" and len(forged["X-Request-ID"]) == 32
    assert "forged line" not in stream.getvalue()


def test_nul_characters_in_the_url_are_a_400_everywhere(client):
    world = build_world()
    client.force_login(world.lead)
    for url in ("/api/v1/enrichment/results?verdict=%00x", "/api/v1/alerts?status=a%00", "/?q=%00",
                "/cases/1/%00", "/api/v1/cases/?%00=1"):
        response = client.get(url)
        assert response.status_code == 400 and "NUL" in response.json()["detail"], url
    assert client.get("/?q=ok").status_code == 200
