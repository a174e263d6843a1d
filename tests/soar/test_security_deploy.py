"""Production mode (SOAR_ENV=production) in a fresh process, as it is deployed:
`manage.py check --deploy` is clean, every response carries HSTS, the CSP and the other
security headers, cookies are Secure, and placeholder secrets are refused at start-up."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = "soar.example.com"


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOAR_", "PYTEST", "DJANGO_")) and k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({
        "SOAR_ENV": "production",
        "SOAR_SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "SOAR_ALLOWED_HOSTS": HOST,
        "SOAR_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "soar.settings",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


def run(argv, env, timeout=120):
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_check_deploy_security_checks_pass_in_production(tmp_path):
    result = run([sys.executable, "manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
                 production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_in_production(tmp_path):
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


PROBE = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="%s")
    plain = client.get("/login/")
    page = client.get("/login/", secure=True)
    docs = client.get("/api/docs/", secure=True)
    docs_script = client.get("/api/docs/?script=", secure=True)
    cookie = page.cookies[settings.CSRF_COOKIE_NAME]
    print(json.dumps({
        "plain": [plain.status_code, plain.get("Location", "")],
        "page": [page.status_code, dict(page.items())],
        "docs": [docs.status_code, dict(docs.items()), docs.content.decode()],
        "docs_script": [docs_script.status_code, docs_script["Content-Type"]],
        "csrf_cookie": {"secure": bool(cookie["secure"]), "httponly": bool(cookie["httponly"]),
                        "samesite": cookie["samesite"]},
        "settings": {name: getattr(settings, name) for name in (
            "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
            "SECURE_HSTS_SECONDS", "SOAR_CSP_ENABLED")},
    }))
""") % HOST


def test_production_responses_carry_the_security_headers(tmp_path):
    result = run([sys.executable, "-c", PROBE], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["plain"] == [301, f"https://{HOST}/login/"]
    status, headers = report["page"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csp = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert report["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert report["settings"] == {"DEBUG": False, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
                                  "SESSION_COOKIE_HTTPONLY": True, "SECURE_HSTS_SECONDS": 31536000,
                                  "SOAR_CSP_ENABLED": True}

    # Swagger UI: served from our static files (no CDN), no inline script or style.
    status, headers, html = report["docs"]
    assert status == 200
    assert "data:" in headers["Content-Security-Policy"] and "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<style" not in html and "<script>" not in html
    assert report["docs_script"] == [200, "application/javascript"]


@pytest.mark.parametrize("variable, value, message", [
    ("SOAR_SECRET_KEY", "change-me-in-production-0123456789abcdefghijklmnopqrstuv", "placeholder"),
    ("SOAR_SECRET_KEY", "too-short-but-random-3f9a", "at least 50"),
    ("SOAR_SECRET_KEY", "", "must be set"),
    ("SOAR_METRICS_TOKEN", "change-me-metrics-token", "placeholder"),
])
def test_production_refuses_missing_or_placeholder_secrets(tmp_path, variable, value, message):
    result = run([sys.executable, "manage.py", "check"], production_env(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert message in result.stderr
    if value:
        assert value not in result.stderr  # the refused secret is not echoed either


# Literals that are published on purpose: the development-only key (refused in production), the
# test users' password and the demo users' (load_demo_data refuses to run in production).
PUBLISHED_NOT_SECRET = ("dev-only-insecure-key", 'PASSWORD = "pw-for-tests-123"', 'PASSWORD = "soar-demo-123"')


def test_demo_data_refuses_to_run_in_production(tmp_path):
    result = run([sys.executable, "manage.py", "load_demo_data"], production_env(tmp_path))
    assert result.returncode != 0 and "Refusing to create demo users" in result.stderr


def test_secrets_are_read_from_the_environment_only():
    """No credential literal in the code besides the development-only default key."""
    import re

    pattern = re.compile(r"""(SECRET_KEY|PASSWORD|_TOKEN|API_KEY)\s*=\s*["'][^"']{6,}["']""")
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "var/", "bench/")) or "/migrations/" in relative:
            continue
        for line in path.read_text(errors="replace").splitlines():
            if pattern.search(line) and not any(allowed in line for allowed in PUBLISHED_NOT_SECRET):
                offenders.append(f"{relative}: {line.strip()}")
    assert offenders == []
