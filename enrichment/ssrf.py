"""SSRF guard for every outbound request whose URL an admin, analyst or alert can influence.

Two layers: ``check_url`` refuses bad schemes and hosts that *resolve* to non-public
addresses (clear error before any traffic), and ``guarded_session`` re-checks the address
each socket actually connected to, so DNS rebinding between the check and the connect, or
a redirect to an internal host, is refused as well. Redirects are not followed anyway.

Refused: every address that is not globally routable (private, loopback, link-local,
multicast, reserved, unspecified, CGNAT, documentation ranges...) and the cloud metadata
endpoints, IPv6 addresses that embed such an IPv4 address (NAT64, 6to4, Teredo, IPv4-mapped
and -compatible; see ``embedded_ipv4``) and the local-use NAT64 prefix, unless the host name
or a network containing the address is listed in
``settings.SOAR_SSRF_ALLOWLIST``."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

ALLOWED_SCHEMES = ("http", "https")
METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                      ipaddress.ip_address("100.100.100.200")}


class SSRFError(Exception):
    """The destination is not allowed. Deliberately not an OSError, so urllib3 neither retries
    nor wraps it: it reaches the caller as is."""


def _allowlist() -> tuple[set[str], list]:
    hosts, networks = set(), []
    for item in getattr(settings, "SOAR_SSRF_ALLOWLIST", []) or []:
        item = item.strip().lower()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.rstrip("."))
    return hosts, networks


def _as_ip(address: str):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


# RFC 6052 well-known NAT64 prefix: the IPv4 address is the last 32 bits.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215 local-use NAT64 prefix: the operator picks the prefix length (/48 to /96), so where
# the IPv4 address sits is unknown; it is not globally routable anyway, so all of it is refused.
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to through a translator or tunnel: IPv4-mapped
    and IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16, the relay's
    address) and Teredo (2001::/32, server and client). A connection to such an address can
    end at the embedded IPv4 host, so the IPv4 rules must hold for it too."""
    if ip.version != 6:
        return []
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if int(ip) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _forbidden(ip) -> bool:
    return ip in METADATA_ADDRESSES or not ip.is_global or ip.is_multicast


def is_forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip in NAT64_LOCAL_USE:
        return True
    return _forbidden(ip) or any(_forbidden(v4) for v4 in embedded_ipv4(ip))


def check_address(host: str, address: str) -> None:
    hosts, networks = _allowlist()
    ip = _as_ip(address)
    if host.lower().rstrip(".") in hosts or any(ip in net for net in networks):
        return
    if is_forbidden_address(address):
        raise SSRFError(f"Refused to connect to {host} ({ip}): not a public address. "
                        "Add it to SOAR_SSRF_ALLOWLIST if this is intended.")


def resolve(host: str, port: int | None) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port or 0, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise SSRFError(f"Cannot resolve host {host!r}: {exc}") from None
    return sorted({str(info[4][0]) for info in infos})


def check_host(host: str, port: int | None = None) -> list[str]:
    """Resolve ``host`` and refuse it if any of its addresses is forbidden. Returns them."""
    if not host:
        raise SSRFError("The URL has no host.")
    addresses = resolve(host, port)
    for address in addresses:
        check_address(host, address)
    return addresses


def check_url(url: str) -> str:
    """Validate an outbound URL (scheme, host, resolved addresses); returns it unchanged."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SSRFError(f"Invalid URL: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise SSRFError(f"Only http and https URLs are allowed, not {parts.scheme or 'no scheme'!r}.")
    if parts.username or parts.password:
        raise SSRFError("URLs with embedded credentials are not allowed.")
    check_host(parts.hostname or "", port)
    return url


def _checked_peer(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
    """The socket a connection just opened, once the address it reached is allowed."""
    try:
        check_address(connection.host, sock.getpeername()[0])
    except SSRFError:
        sock.close()
        raise
    return sock


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_peer(self, super()._new_conn())


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_peer(self, super()._new_conn())


class GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


def guarded_session() -> requests.Session:
    """A requests session that checks the peer of every connection it opens. Environment
    proxies are ignored: through a proxy the peer would be the proxy, not the target."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
