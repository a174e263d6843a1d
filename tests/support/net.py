"""Loopback ports for the servers the tests start: a free one, waiting until one listens, and a
self-signed certificate for the ones that speak TLS."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, name: str, *, timeout: float = 30.0,
                         exit_details: Callable[[], str] = lambda: "") -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; fail the test if ``process`` exits
    first (with its stderr and ``exit_details()``) or nothing listens within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"{name} exited: {stderr}" + (f"\n{exit_details()}" if exit_details() else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{name} did not listen within {timeout:.0f} s")
            time.sleep(0.05)


def self_signed_certificate(work: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) in ``work``: CN localhost, SAN localhost and IP 127.0.0.1, valid two
    days; the certificate is its own CA (what a client's CA file points at)."""
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key
