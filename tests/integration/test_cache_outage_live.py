"""Redis as the Django cache (SOAR_CACHE_URL) dies under a running gunicorn: log-in and the
reports keep answering (the cache fails open), wrong passwords are still refused."""

from __future__ import annotations

import re

import pytest
import requests

from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(base_url: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(f"{base_url}/login/", timeout=60)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{base_url}/login/", data={"username": username, "password": password,
                                                         "csrfmiddlewaretoken": token},
                            headers={"Referer": f"{base_url}/login/"}, allow_redirects=False, timeout=60)
    return session, response


def check_app(base_url: str) -> None:
    wrong_session, wrong = log_in(base_url, "lead", "not-the-password")
    assert wrong.status_code == 200 and "Wrong username or password" in wrong.text
    session, right = log_in(base_url, "lead", PASSWORD)
    assert right.status_code == 302, right.text[:500]
    assert session.get(f"{base_url}/reports/", timeout=60).status_code == 200
    assert session.get(f"{base_url}/api/v1/reports/summary", timeout=60).status_code == 200


def test_login_and_reports_survive_the_cache_server_dying(private_redis, service_factory):
    build_world()
    web = service_factory("web", name="web-cache-outage", SOAR_CACHE_URL=private_redis.url)
    check_app(web.url)  # with the cache up: the figures are cached in Redis
    private_redis.stop()
    check_app(web.url)  # connection refused on every cache call
    check_app(web.url)  # and again, once the fail-open back-off has started
    assert "cache unavailable" in web.log_text()
