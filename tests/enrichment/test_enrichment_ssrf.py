"""The SSRF guard: non-public destinations are refused after DNS resolution, at check time
and again at connect time, unless allowlisted."""

import pytest

from enrichment.models import ProviderConfig
from enrichment.providers.base import ProviderError
from enrichment.providers.http import HttpClient
from enrichment.ssrf import SSRFError, check_url, guarded_session


@pytest.fixture(autouse=True)
def no_allowlist(settings):
    settings.SOAR_SSRF_ALLOWLIST = []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.8.9.10:8080/x", "http://localhost/", "http://[::1]/",
    "http://10.1.2.3/", "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/", "http://240.0.0.1/", "http://[fe80::1]/",
    "http://2130706433/",  # 127.0.0.1 as a decimal integer, resolved by getaddrinfo
])
def test_non_public_destinations_are_refused(url):
    with pytest.raises(SSRFError):
        check_url(url)


@pytest.mark.parametrize("url", ["ftp://8.8.8.8/", "file:///etc/passwd", "gopher://8.8.8.8/", "8.8.8.8/path",
                                 "http://user:pw@8.8.8.8/", "http:///nohost", "http://[::1/"])
def test_bad_schemes_and_malformed_urls_are_refused(url):
    with pytest.raises(SSRFError):
        check_url(url)


def test_public_address_passes():
    assert check_url("https://8.8.8.8/dns-query") == "https://8.8.8.8/dns-query"


def test_unresolvable_host_is_refused():
    with pytest.raises(SSRFError, match="Cannot resolve"):
        check_url("http://no-such-host.invalid/")


def test_allowlist_by_network_and_by_host_name(settings):
    settings.SOAR_SSRF_ALLOWLIST = ["10.0.0.0/8", "localhost"]
    check_url("http://10.20.30.40/")
    check_url("http://localhost:8080/")
    with pytest.raises(SSRFError):
        check_url("http://192.168.0.1/")
    with pytest.raises(SSRFError):
        check_url("http://169.254.169.254/")


def test_connect_time_check_refuses_even_without_precheck(fake_server):
    """The session checks the peer it actually connected to (DNS rebinding, redirects)."""
    fake_server.add("GET", "/", json={"ok": True})
    with pytest.raises(SSRFError):
        guarded_session().get(fake_server.url + "/", timeout=2)
    assert fake_server.count() == 0


def test_connect_time_check_allows_allowlisted_peer(fake_server, settings):
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1/32"]
    fake_server.add("GET", "/", json={"ok": True})
    assert guarded_session().get(fake_server.url + "/", timeout=2).json() == {"ok": True}


def test_redirects_are_not_followed(fake_server, settings):
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    fake_server.add("GET", "/r", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    client = HttpClient(ProviderConfig(provider="x", timeout_seconds=2, max_retries=0),
                        base_url=fake_server.url, provider_name="X")
    response = client.request("GET", "/r")
    assert response.status_code == 302 and fake_server.count() == 1


def test_connector_with_internal_base_url_records_a_clear_error(fake_server):
    client = HttpClient(ProviderConfig(provider="x", timeout_seconds=2), base_url=fake_server.url, provider_name="X")
    with pytest.raises(ProviderError, match="SOAR_SSRF_ALLOWLIST"):
        client.request("GET", "/")
    assert fake_server.count() == 0


def _embedding_forms(v4: str) -> dict[str, str]:
    """Every IPv6 form that carries an IPv4 address, spelled for ``v4``."""
    import ipaddress

    n = int(ipaddress.IPv4Address(v4))
    hi, lo = f"{n >> 16:x}", f"{n & 0xFFFF:x}"
    teredo_client = n ^ 0xFFFFFFFF  # Teredo stores the client address inverted
    return {
        "nat64": f"64:ff9b::{hi}:{lo}",
        "nat64-dotted": f"64:ff9b::{v4}",
        "nat64-local-use": f"64:ff9b:1::{hi}:{lo}",
        "nat64-local-use-48": f"64:ff9b:1:{hi}:{lo[:2] if len(lo) > 2 else '0'}::",
        "6to4": f"2002:{hi}:{lo}::1",
        "ipv4-compatible": f"::{v4}",
        "ipv4-mapped": f"::ffff:{v4}",
        "teredo-client": f"2001:0:4136:e378:8000:63bf:{teredo_client >> 16:x}:{teredo_client & 0xFFFF:x}",
        "teredo-server": f"2001:0:{hi}:{lo}:8000:63bf:f7f7:f7f7",
    }


@pytest.mark.parametrize("v4", ["127.0.0.1", "169.254.169.254"])
@pytest.mark.parametrize("form", list(_embedding_forms("127.0.0.1")))
def test_ipv6_forms_embedding_loopback_or_metadata_are_refused(v4, form):
    """NAT64, 6to4, IPv4-compatible, IPv4-mapped and Teredo addresses reach the IPv4 address they
    carry (through a translator or tunnel): the IPv4 rules apply to it."""
    from enrichment.ssrf import is_forbidden_address

    address = _embedding_forms(v4)[form]
    assert is_forbidden_address(address), address
    with pytest.raises(SSRFError):
        check_url(f"http://[{address}]:8080/latest/meta-data/")


def test_nat64_of_a_public_address_is_allowed():
    from enrichment.ssrf import is_forbidden_address

    assert not is_forbidden_address("64:ff9b::808:808")  # 8.8.8.8 through the well-known NAT64 prefix
    assert not is_forbidden_address("2001:4860:4860::8888")
