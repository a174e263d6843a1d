"""Offline providers (IP classification, local intel, blocklist, inventory, LDAP via ldap3's
MOCK_SYNC strategy since no LDAP server is cheap here), the blocklist services and the
import commands."""

import ssl
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cases.models import AuditLog
from enrichment.models import Asset, BlocklistEntry, Indicator, ProviderConfig
from enrichment.providers.base import ProviderError
from enrichment.providers.ldap_directory import LdapDirectoryProvider, ldap3
from enrichment.providers.registry import provider_classes
from enrichment.selectors import active_blocklist_entries, is_blocklisted
from enrichment.services import add_to_blocklist, remove_from_blocklist

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def lookup(key, obs_type, value, **config):
    cls = provider_classes()[key]
    return cls(ProviderConfig(provider=key, **config)).lookup(obs_type, value)


@pytest.mark.parametrize("ip, summary", [
    ("10.1.2.3", "Private"), ("192.168.0.10", "Private"), ("127.0.0.1", "Loopback"),
    ("169.254.10.1", "Link-local"), ("224.0.0.251", "Multicast"), ("0.0.0.0", "Unspecified"),
    ("203.0.113.5", "Reserved"), ("fd12::1", "Private"),
])
def test_ip_classification_of_special_ranges(ip, summary):
    result = lookup("ip_classification", "ip", ip)
    assert result.summary.startswith(summary) and result.verdict == "unknown" and result.matched


def test_ip_classification_cloud_and_plain_public():
    aws = lookup("ip_classification", "ip", "52.16.1.1")
    assert aws.raw["category"] == "cloud" and "AWS" in aws.summary and "eu-west-1" in aws.summary
    assert "Cloudflare" in lookup("ip_classification", "ip", "2606:4700::1111").summary
    public = lookup("ip_classification", "ip", "1.2.3.4")
    assert public.matched is False and public.raw["category"] == "public"


def test_ip_classification_refuses_garbage():
    with pytest.raises(ProviderError):
        lookup("ip_classification", "ip", "not-an-ip")


# --- blocklist ----------------------------------------------------------------------------

def test_add_to_blocklist_is_an_idempotent_upsert():
    first = add_to_blocklist("firewall", "ip", " 1.2.3.4 ", reason="C2", actor_label="playbook:contain")
    again = add_to_blocklist("firewall", "ip", "1.2.3.4", reason="C2 (confirmed)", actor_label="alice")
    assert first.pk == again.pk and BlocklistEntry.objects.count() == 1
    again.refresh_from_db()
    assert again.reason == "C2 (confirmed)" and again.added_by == "alice"
    actions = list(AuditLog.objects.values_list("action", flat=True).order_by("id"))
    assert actions == ["blocklist.add", "blocklist.update"]
    add_to_blocklist("proxy", "domain", "Evil.Example.", reason="phish", actor_label="alice")
    assert BlocklistEntry.objects.get(list_name="proxy").value == "evil.example"


def test_add_to_blocklist_refuses_invalid_values():
    with pytest.raises(ValueError):
        add_to_blocklist("firewall", "ip", "999.1.1.1", actor_label="x")
    assert not BlocklistEntry.objects.exists()


def test_blocklist_expiry_and_selectors():
    past, future = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1)
    add_to_blocklist("firewall", "ip", "1.1.1.1", expires_at=past, actor_label="x")
    add_to_blocklist("firewall", "ip", "2.2.2.2", expires_at=future, actor_label="x")
    add_to_blocklist("firewall", "ip", "3.3.3.3", actor_label="x")
    assert [e.value for e in active_blocklist_entries("firewall")] == ["2.2.2.2", "3.3.3.3"]
    assert is_blocklisted("ip", "3.3.3.3") and not is_blocklisted("ip", "1.1.1.1")
    assert not is_blocklisted("domain", "3.3.3.3")
    assert remove_from_blocklist("firewall", "ip", "3.3.3.3", actor_label="x") == 1
    assert not is_blocklisted("ip", "3.3.3.3")


def test_blocklist_provider():
    add_to_blocklist("proxy", "domain", "evil.example", reason="Phishing", actor_label="x")
    hit = lookup("blocklist", "domain", "EVIL.example")
    assert (hit.verdict, hit.score) == ("malicious", 100) and "proxy" in hit.summary and "Phishing" in hit.summary
    assert lookup("blocklist", "domain", "good.example").matched is False


# --- threat intel -------------------------------------------------------------------------

def test_import_intel_csv_and_lookup():
    out = StringIO()
    call_command("import_intel", str(FIXTURES / "intel" / "indicators.csv"), "--source", "acme", stdout=out)
    assert "5 indicator(s)" in out.getvalue() and Indicator.objects.filter(source="acme").count() == 5
    hit = lookup("threat_intel", "ip", "203.0.113.66")
    assert (hit.verdict, hit.score) == ("malicious", 90) and "Known C2" in hit.summary and "acme" in hit.summary
    assert lookup("threat_intel", "domain", "evil.example").verdict == "malicious"
    assert lookup("threat_intel", "hostname", "evil.example").verdict == "malicious"
    sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert lookup("threat_intel", "hash", sha).verdict == "suspicious"
    assert lookup("threat_intel", "ip", "198.51.100.99").matched is False  # expired
    call_command("import_intel", str(FIXTURES / "intel" / "indicators.csv"), "--source", "acme", stdout=out)
    assert Indicator.objects.count() == 5  # re-import updates


def test_import_intel_stix_bundle():
    out = StringIO()
    call_command("import_intel", str(FIXTURES / "intel" / "bundle.json"), stdout=out)
    values = set(Indicator.objects.values_list("type", "value"))
    assert values == {("ip", "192.0.2.10"), ("domain", "login-micros0ft.example"), ("domain", "secure-bank.example"),
                      ("hash", "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"),
                      ("url", "http://files.example/update.exe")}
    c2 = Indicator.objects.get(value="192.0.2.10")
    assert (c2.source, c2.confidence, c2.verdict) == ("bundle", 95, "malicious")
    assert c2.external_id.startswith("indicator--")
    assert Indicator.objects.get(value="secure-bank.example").verdict == "suspicious"


@pytest.mark.parametrize("name, args, message", [
    ("intel/bad_type.csv", [], "line 3: unknown indicator type 'banana'"),
    ("intel/unsupported_pattern.json", [], "no supported indicator.*observations joined by AND"),
    ("intel/indicators.csv", ["--format", "stix"], "not valid JSON"),
    ("intel/missing.csv", [], "no such file"),
    ("enrichment/assets.csv", [], "columns 'type' and 'value'"),
])
def test_import_intel_bad_files_fail_clearly_and_import_nothing(name, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_intel", str(FIXTURES / name), *args)
    assert not Indicator.objects.exists()


# --- asset inventory ----------------------------------------------------------------------

def test_import_assets_and_inventory_provider():
    call_command("import_assets", str(FIXTURES / "enrichment" / "assets.csv"), stdout=StringIO())
    assert Asset.objects.count() == 3
    host = lookup("asset_inventory", "hostname", "web01.corp.example")
    assert "owner alice (IT Operations)" in host.summary and "criticality high" in host.summary
    assert lookup("asset_inventory", "ip", "10.0.0.5").raw["name"] == "web01"
    bob = lookup("asset_inventory", "user", "CORP\\bob")
    assert bob.raw["vip"] is True and "VIP" in bob.summary and "Finance" in bob.summary
    assert lookup("asset_inventory", "email", "carol@corp.example").raw["department"] == "HR"
    assert lookup("asset_inventory", "user", "mallory").matched is False
    call_command("import_assets", str(FIXTURES / "enrichment" / "assets.csv"), stdout=StringIO())
    assert Asset.objects.count() == 3


def test_import_assets_bad_file():
    with pytest.raises(CommandError, match="line 2: criticality"):
        call_command("import_assets", str(FIXTURES / "enrichment" / "assets_bad.csv"))
    assert not Asset.objects.exists()


# --- LDAP (ldap3 MOCK_SYNC) ------------------------------------------------------------------

@pytest.fixture
def mock_directory(monkeypatch):
    server = ldap3.Server("directory.corp.example")

    def factory(provider):
        conn = ldap3.Connection(server, user="cn=svc,dc=corp,dc=example", password="s3cret",
                                client_strategy=ldap3.MOCK_SYNC)
        conn.strategy.add_entry("cn=svc,dc=corp,dc=example", {"userPassword": "s3cret", "objectClass": "person"})
        conn.strategy.add_entry("cn=Dave Jones,ou=people,dc=corp,dc=example", {
            "objectClass": "person", "cn": "Dave Jones", "uid": "dave", "mail": "dave@corp.example",
            "title": "Controller", "department": "Finance", "userAccountControl": "514",
            "manager": "CN=Erin Boss,ou=people,dc=corp,dc=example"})
        if provider.config.api_key != "s3cret":
            conn.password = provider.config.api_key
        return conn

    monkeypatch.setattr(LdapDirectoryProvider, "connection_factory", staticmethod(factory))


def ldap_provider(password="s3cret"):
    return LdapDirectoryProvider(ProviderConfig(provider="ldap_directory", api_key=password, options={
        "bind_dn": "cn=svc,dc=corp,dc=example", "search_base": "dc=corp,dc=example",
        "user_filter": "(uid={value})", "attributes": ["cn", "mail", "title", "department", "manager",
                                                       "userAccountControl"]}))


def test_ldap_user_and_email_lookup(mock_directory):
    result = ldap_provider().lookup("user", "CORP\\Dave")
    assert "Dave Jones" in result.summary and "Finance" in result.summary and "manager Erin Boss" in result.summary
    assert "account DISABLED" in result.summary
    assert ldap_provider().lookup("email", "dave@corp.example").raw["entries"][0]["dn"].startswith("cn=Dave")
    assert ldap_provider().lookup("user", "nobody").matched is False


def test_ldap_filter_injection_is_escaped(mock_directory):
    assert ldap_provider().lookup("user", "*)(uid=*").matched is False


def test_ldap_bad_bind(mock_directory):
    with pytest.raises(ProviderError, match="bind refused"):
        ldap_provider(password="wrong").lookup("user", "dave")


def test_ldap_real_connection_refuses_internal_hosts(settings):
    settings.SOAR_SSRF_ALLOWLIST = []
    provider = LdapDirectoryProvider(ProviderConfig(provider="ldap_directory", base_url="ldaps://127.0.0.1:636",
                                                    options={"search_base": "dc=x"}))
    with pytest.raises(ProviderError, match="not a public address"):
        provider.lookup("user", "dave")


def ldap_real(base_url, **options):
    return LdapDirectoryProvider(ProviderConfig(provider="ldap_directory", base_url=base_url,
                                                options={"search_base": "dc=x", **options}))


def test_ldaps_validates_the_directory_certificate(settings, tmp_path):
    """ldap3 defaults to CERT_NONE: the bind password would go to whoever answers."""
    ca, other = tmp_path / "ldap-ca.pem", tmp_path / "other-ca.pem"
    ca.write_text("placeholder\n")
    other.write_text("placeholder\n")
    settings.SOAR_SSRF_ALLOWLIST, settings.SOAR_LDAP_CA_FILE = ["127.0.0.1"], str(ca)
    server = ldap_real("ldaps://127.0.0.1:636").build_server()
    assert server.ssl is True and server.tls.validate == ssl.CERT_REQUIRED
    assert server.tls.ca_certs_file == str(ca) and server.tls.sni == "127.0.0.1"
    # A provider's own CA file wins over the setting.
    own = ldap_real("ldaps://127.0.0.1:636", ca_file=str(other)).build_server()
    assert own.tls.validate == ssl.CERT_REQUIRED and own.tls.ca_certs_file == str(other)
    with pytest.raises(ProviderError, match="CA file .* cannot be read"):
        ldap_real("ldaps://127.0.0.1:636", ca_file=str(tmp_path / "missing.pem")).build_server()
    settings.SOAR_LDAP_CA_FILE = ""
    default = ldap_real("ldaps://127.0.0.1:636").build_server().tls
    assert default.validate == ssl.CERT_REQUIRED and default.ca_certs_file is None  # the system's CAs


def test_plaintext_ldap_only_when_explicitly_allowed(settings):
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    settings.SOAR_LDAP_ALLOW_PLAINTEXT = False
    with pytest.raises(ProviderError, match="SOAR_LDAP_ALLOW_PLAINTEXT"):
        ldap_real("ldap://127.0.0.1:389").build_server()
    settings.SOAR_LDAP_ALLOW_PLAINTEXT = True
    assert ldap_real("ldap://127.0.0.1:389").build_server().ssl is False
