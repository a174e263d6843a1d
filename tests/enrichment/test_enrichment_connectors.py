"""Every network connector against a local server answering in the API's documented shape:
verdicts, not found, bad credentials, 429 then success (Retry-After honoured), 5xx, timeouts."""

import json
import time
from pathlib import Path

import pytest

from enrichment.models import ProviderConfig
from enrichment.providers.base import ProviderError
from enrichment.providers.registry import provider_classes
from enrichment.providers.virustotal import url_id


def fixture_json(name):
    return json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "enrichment" / name).read_text())

pytestmark = pytest.mark.usefixtures("allow_localhost")


def provider(key, server, **config):
    config.setdefault("api_key", "test-key-123")
    config.setdefault("timeout_seconds", 2)
    config.setdefault("max_retries", 2)
    config.setdefault("options", {"backoff_seconds": 0.05})
    return provider_classes()[key](ProviderConfig(provider=key, base_url=server.url, **config))


# --- AbuseIPDB --------------------------------------------------------------------------

def test_abuseipdb_malicious(fake_server):
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_malicious.json"))
    result = provider("abuseipdb", fake_server).lookup("ip", "1.2.3.4")
    assert (result.verdict, result.score) == ("malicious", 100)
    assert "1234 report(s)" in result.summary and result.raw["data"]["isp"] == "Example Hosting"
    sent = fake_server.received[0]
    assert sent.query == {"ipAddress": "1.2.3.4", "maxAgeInDays": "90"}
    assert sent.headers["key"] == "test-key-123" and sent.headers["accept"] == "application/json"


def test_abuseipdb_no_reports_is_unknown(fake_server):
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_clean.json"))
    result = provider("abuseipdb", fake_server).lookup("ip", "5.6.7.8")
    assert (result.verdict, result.score, result.matched) == ("unknown", 0, True)


def test_abuseipdb_private_address_is_never_sent(fake_server):
    result = provider("abuseipdb", fake_server).lookup("ip", "10.0.0.5")
    assert result.matched is False and fake_server.count() == 0


def test_abuseipdb_bad_key(fake_server):
    fake_server.add("GET", "/api/v2/check", status=401, json=fixture_json("abuseipdb_401.json"))
    with pytest.raises(ProviderError, match="credentials refused") as exc:
        provider("abuseipdb", fake_server).lookup("ip", "1.2.3.4")
    assert "test-key-123" not in str(exc.value)
    assert fake_server.count() == 1  # no retry on 401


def test_abuseipdb_missing_key_is_an_error_without_request(fake_server):
    with pytest.raises(ProviderError, match="no API key"):
        provider("abuseipdb", fake_server, api_key="").lookup("ip", "1.2.3.4")
    assert fake_server.count() == 0


def test_abuseipdb_429_then_success_honours_retry_after(fake_server):
    fake_server.add("GET", "/api/v2/check", status=429, json=fixture_json("abuseipdb_429.json"),
                    headers={"Retry-After": "1"}, times=1)
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_malicious.json"))
    started = time.monotonic()
    result = provider("abuseipdb", fake_server).lookup("ip", "1.2.3.4")
    assert result.verdict == "malicious" and fake_server.count() == 2
    assert time.monotonic() - started >= 0.9


def test_abuseipdb_retry_after_is_capped(fake_server, settings):
    settings.SOAR_ENRICHMENT_MAX_RETRY_AFTER_SECONDS = 0.2
    fake_server.add("GET", "/api/v2/check", status=429, json=fixture_json("abuseipdb_429.json"),
                    headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"HTTP 429\) \(3 attempts\)"):
        provider("abuseipdb", fake_server).lookup("ip", "1.2.3.4")
    assert fake_server.count() == 3 and time.monotonic() - started < 2


# --- VirusTotal -------------------------------------------------------------------------

def test_virustotal_ip_malicious(fake_server):
    fake_server.add("GET", "/api/v3/ip_addresses/1.2.3.4", json=fixture_json("virustotal_ip_malicious.json"))
    result = provider("virustotal", fake_server).lookup("ip", "1.2.3.4")
    assert result.verdict == "malicious" and result.score >= 50
    assert "12 malicious" in result.summary and "reputation -42" in result.summary
    assert fake_server.received[0].headers["x-apikey"] == "test-key-123"


def test_virustotal_domain_clean_is_benign(fake_server):
    fake_server.add("GET", "/api/v3/domains/example.com", json=fixture_json("virustotal_domain_clean.json"))
    result = provider("virustotal", fake_server).lookup("domain", "example.com")
    assert (result.verdict, result.score) == ("benign", 0)


def test_virustotal_url_uses_unpadded_base64url_id(fake_server):
    url = "http://bad.example/payload.exe?a=1"
    assert "=" not in url_id(url)
    body = fixture_json("virustotal_ip_malicious.json")
    body["data"]["attributes"]["last_analysis_stats"] = {"malicious": 1, "suspicious": 0, "harmless": 60,
                                                         "undetected": 10}
    fake_server.add("GET", f"/api/v3/urls/{url_id(url)}", json=body)
    assert provider("virustotal", fake_server).lookup("url", url).verdict == "suspicious"


def test_virustotal_file_not_found_is_unknown(fake_server):
    sha = "a" * 64
    fake_server.add("GET", f"/api/v3/files/{sha}", status=404, json=fixture_json("virustotal_not_found.json"))
    result = provider("virustotal", fake_server).lookup("hash", sha)
    assert (result.verdict, result.matched) == ("unknown", False)


def test_virustotal_wrong_credentials(fake_server):
    fake_server.add("GET", "/api/v3/domains/example.com", status=401, json=fixture_json("virustotal_401.json"))
    with pytest.raises(ProviderError, match="HTTP 401"):
        provider("virustotal", fake_server).lookup("domain", "example.com")


def test_virustotal_quota_then_success(fake_server):
    fake_server.add("GET", "/api/v3/domains/example.com", status=429, json=fixture_json("virustotal_429.json"),
                    times=2)
    fake_server.add("GET", "/api/v3/domains/example.com", json=fixture_json("virustotal_domain_clean.json"))
    assert provider("virustotal", fake_server).lookup("domain", "example.com").verdict == "benign"
    assert fake_server.count() == 3


def test_virustotal_server_errors_exhaust_retries(fake_server):
    fake_server.add("GET", "/api/v3/domains/example.com", status=503, body=b"unavailable")
    with pytest.raises(ProviderError, match=r"server error \(HTTP 503\)"):
        provider("virustotal", fake_server, max_retries=1).lookup("domain", "example.com")
    assert fake_server.count() == 2


def test_virustotal_timeout(fake_server):
    fake_server.add("GET", "/api/v3/domains/slow.example", delay=1.0, json={})
    started = time.monotonic()
    with pytest.raises(ProviderError, match="timed out after 0.2s"):
        provider("virustotal", fake_server, timeout_seconds=0.2, max_retries=0).lookup("domain", "slow.example")
    assert time.monotonic() - started < 0.9


def test_virustotal_malformed_body(fake_server):
    fake_server.add("GET", "/api/v3/domains/example.com", json={"data": {}})
    with pytest.raises(ProviderError, match="last_analysis_stats"):
        provider("virustotal", fake_server).lookup("domain", "example.com")


# --- URLhaus ----------------------------------------------------------------------------

def test_urlhaus_url_online_is_malicious(fake_server):
    fake_server.add("POST", "/v1/url/", json=fixture_json("urlhaus_url_online.json"))
    result = provider("urlhaus", fake_server).lookup("url", "http://bad.example/payload.exe")
    assert (result.verdict, result.score) == ("malicious", 100) and "mirai" in result.summary
    sent = fake_server.received[0]
    assert sent.form == {"url": "http://bad.example/payload.exe"} and sent.headers["auth-key"] == "test-key-123"


def test_urlhaus_host_and_no_results(fake_server):
    fake_server.add("POST", "/v1/host/", json=fixture_json("urlhaus_host.json"), times=1)
    fake_server.add("POST", "/v1/host/", json={"query_status": "no_results"})
    urlhaus = provider("urlhaus", fake_server)
    hit = urlhaus.lookup("domain", "bad.example")
    assert hit.verdict == "malicious" and "2 malware URL(s)" in hit.summary and "1 online" in hit.summary
    miss = urlhaus.lookup("domain", "good.example")
    assert (miss.verdict, miss.matched) == ("unknown", False)
    assert fake_server.received[1].form == {"host": "good.example"}


def test_urlhaus_payload_lookup_by_hash(fake_server):
    fake_server.add("POST", "/v1/payload/", json={"query_status": "ok", "file_type": "exe", "signature": "AgentTesla"})
    result = provider("urlhaus", fake_server).lookup("hash", "b" * 64)
    assert result.verdict == "malicious" and "AgentTesla" in result.summary
    assert fake_server.received[0].form == {"sha256_hash": "b" * 64}


def test_urlhaus_invalid_query_is_an_error(fake_server):
    fake_server.add("POST", "/v1/url/", json={"query_status": "invalid_url"})
    with pytest.raises(ProviderError, match="invalid_url"):
        provider("urlhaus", fake_server).lookup("url", "http://x")


# --- generic JSON -----------------------------------------------------------------------

def test_generic_json_maps_fields_and_verdicts(fake_server):
    fake_server.add("GET", "/intel/ip/203.0.113.9", json={"result": {"rating": "BAD", "risk": 88, "note": "Botnet"}})
    options = {"path_template": "/intel/{type}/{value}", "verdict_field": "result.rating",
               "score_field": "result.risk", "summary_field": "result.note", "verdict_map": {"bad": "malicious"},
               "api_key_header": "X-Token", "api_key_prefix": ""}
    result = provider("generic_json", fake_server, options=options).lookup("ip", "203.0.113.9")
    assert (result.verdict, result.score, result.summary) == ("malicious", 88, "Botnet")
    assert fake_server.received[0].headers["x-token"] == "test-key-123"


def test_generic_json_not_found_and_unmappable(fake_server):
    fake_server.add("GET", "/lookup/domain/weird.example", json={"verdict": "purple"})
    generic = provider("generic_json", fake_server)
    assert generic.lookup("domain", "missing.example").matched is False  # fake server 404
    with pytest.raises(ProviderError, match="verdict_map"):
        generic.lookup("domain", "weird.example")


def test_generic_json_types_option_limits_what_it_handles(fake_server):
    generic = provider("generic_json", fake_server, options={"types": ["ip"]})
    assert generic.handles("ip") and not generic.handles("domain")


def test_generic_json_value_is_path_quoted(fake_server):
    fake_server.add("GET", "/lookup/url/http%3A%2F%2Fa.example%2F%3Fq%3D1", json={"verdict": "benign"})
    assert provider("generic_json", fake_server).lookup("url", "http://a.example/?q=1").verdict == "benign"


# --- NetBox-style CMDB ------------------------------------------------------------------

def test_netbox_device_and_ip(fake_server):
    fake_server.add("GET", "/api/dcim/devices/", json=fixture_json("netbox_devices.json"))
    fake_server.add("GET", "/api/ipam/ip-addresses/", json=fixture_json("netbox_ip.json"))
    netbox = provider("netbox", fake_server)
    device = netbox.lookup("hostname", "web01")
    assert "Device web01" in device.summary and "site DC-Paris" in device.summary
    assert "role Web server" in device.summary
    address = netbox.lookup("ip", "10.0.0.5")
    assert "device web01" in address.summary and "dns web01.corp.example" in address.summary
    assert fake_server.received[0].query == {"name": "web01"}
    assert fake_server.received[1].query == {"address": "10.0.0.5"}
    assert fake_server.received[0].headers["authorization"] == "Token test-key-123"


def test_netbox_empty_results_and_forbidden(fake_server):
    fake_server.add("GET", "/api/dcim/devices/", json={"count": 0, "next": None, "previous": None, "results": []},
                    times=1)
    fake_server.add("GET", "/api/dcim/devices/", status=403, json={"detail": "Invalid token"})
    netbox = provider("netbox", fake_server)
    assert netbox.lookup("hostname", "ghost").matched is False
    with pytest.raises(ProviderError, match="HTTP 403"):
        netbox.lookup("hostname", "web01")


def test_connector_without_base_url_is_an_error():
    netbox = provider_classes()["netbox"](ProviderConfig(provider="netbox", base_url=""))
    with pytest.raises(ProviderError, match="no base URL"):
        netbox.lookup("hostname", "web01")
