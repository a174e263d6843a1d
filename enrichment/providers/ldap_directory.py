"""Directory look-ups over LDAP (ldap3). ``base_url`` is ldaps://host:636 (or ldap://host:389
where SOAR_LDAP_ALLOW_PLAINTEXT allows it), ``api_key`` is the bind password. Options:
bind_dn, search_base, user_filter (default "(|(sAMAccountName={value})(uid={value}))"),
email_filter ("(mail={value})"), attributes, ca_file (PEM bundle; default SOAR_LDAP_CA_FILE,
then the system's CAs).

ldaps:// certificates are validated (chain and host name): ldap3's default is CERT_NONE,
under which anyone on the path could pose as the directory and receive the bind password."""

from __future__ import annotations

import math
import ssl
import warnings
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # ldap3 2.9.1 imports names newer pyasn1 releases deprecate; harmless, and noisy in every run.
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars

from django.conf import settings

from enrichment.models import Verdict
from enrichment.providers.asset_inventory import user_name
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register
from enrichment.ssrf import SSRFError, check_host

DEFAULT_ATTRIBUTES = ["cn", "displayName", "mail", "title", "department", "manager", "memberOf",
                      "userAccountControl", "telephoneNumber"]


def first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


@register
class LdapDirectoryProvider(Provider):
    key = "ldap_directory"
    name = "LDAP directory"
    observable_types = ("user", "email")
    requires_network = True
    # Tests swap this for an ldap3 MOCK_SYNC connection; None means a real SYNC connection.
    connection_factory: ClassVar[Callable[[LdapDirectoryProvider], Any] | None] = None

    def connect(self) -> ldap3.Connection:
        factory = type(self).connection_factory
        if factory is not None:
            return factory(self)
        server = self.build_server()
        return ldap3.Connection(server, user=self.options.get("bind_dn") or None,
                                password=self.config.api_key or None,
                                # Whole seconds: on Linux ldap3 packs it into SO_RCVTIMEO with struct 'LL',
                                # which refuses a float (every real connection failed; the mock never opens a socket).
                                receive_timeout=max(1, math.ceil(float(self.config.timeout_seconds or 10))),
                                raise_exceptions=False)

    def build_server(self) -> ldap3.Server:
        """The ldap3 Server of ``base_url``, after the SSRF guard: ldaps:// with certificate
        validation, ldap:// only where SOAR_LDAP_ALLOW_PLAINTEXT allows it."""
        parts = urlsplit(self.config.base_url or "")
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ProviderError("LDAP: base URL must look like ldaps://host:636 or ldap://host:389.")
        if parts.scheme == "ldap" and not settings.SOAR_LDAP_ALLOW_PLAINTEXT:
            raise ProviderError("LDAP: plaintext ldap:// would send the bind password unencrypted; use ldaps:// "
                                "or set SOAR_LDAP_ALLOW_PLAINTEXT=1.")
        try:
            check_host(parts.hostname, parts.port)
        except SSRFError as exc:
            raise ProviderError(str(exc)) from None
        tls = None
        if parts.scheme == "ldaps":
            ca_file = self.options.get("ca_file") or settings.SOAR_LDAP_CA_FILE or None
            # version=None: ldap3 builds ssl.create_default_context() (system CAs unless ca_file);
            # ldap3 checks the host name itself after the handshake when validate is not CERT_NONE.
            try:
                tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file, sni=parts.hostname)
            except LDAPException:  # ldap3 checks that the file exists
                raise ProviderError(f"LDAP: the CA file {ca_file} cannot be read.") from None
        return ldap3.Server(parts.hostname, port=parts.port, use_ssl=parts.scheme == "ldaps", tls=tls,
                            connect_timeout=float(self.config.timeout_seconds or 10))

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        if obs_type == "email":
            template = self.options.get("email_filter", "(mail={value})")
            needle = value.strip()
        else:
            template = self.options.get("user_filter", "(|(sAMAccountName={value})(uid={value}))")
            needle = user_name(value)
        search_filter = template.replace("{value}", escape_filter_chars(needle))
        base = self.options.get("search_base")
        if not base:
            raise ProviderError("LDAP: option search_base is not configured.")
        try:
            conn = self.connect()
            if not conn.bind():
                raise ProviderError("LDAP: bind refused; check bind_dn and the password.")
            try:
                conn.search(base, search_filter, attributes=self.options.get("attributes", DEFAULT_ATTRIBUTES),
                            size_limit=2)
                entries = [{"dn": e.entry_dn, "attributes": dict(e.entry_attributes_as_dict)} for e in conn.entries]
            finally:
                conn.unbind()
        except LDAPException as exc:
            raise ProviderError(f"LDAP: {exc.__class__.__name__}") from None
        if not entries:
            return no_match("Not found in the directory")
        attrs = entries[0]["attributes"]
        parts = [str(first(attrs.get("displayName")) or first(attrs.get("cn")) or entries[0]["dn"])]
        for key in ("title", "department", "mail"):
            if first(attrs.get(key)):
                parts.append(str(first(attrs[key])))
        if first(attrs.get("manager")):
            parts.append(f"manager {str(first(attrs['manager'])).split(',', 1)[0].removeprefix('CN=')}")
        try:
            if int(first(attrs.get("userAccountControl")) or 0) & 2:
                parts.append("account DISABLED")
        except (TypeError, ValueError):
            pass
        raw = {"entries": [{"dn": e["dn"], "attributes": {
            k: [str(v) for v in (vals if isinstance(vals, list) else [vals])] for k, vals in e["attributes"].items()}}
                           for e in entries]}
        return LookupResult(Verdict.UNKNOWN, 0, ", ".join(parts), raw)
