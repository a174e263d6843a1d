"""The cache server (SOAR_CACHE_URL) is down: log-in, its throttle and the reports fail open for
the cache (a miss, a warning in the log) and never for authentication."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every cache call fails with a connection error at once.
DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture
def w():
    return build_world()


@override_settings(CACHES=DEAD_REDIS)
def test_login_works_with_the_right_password_and_fails_with_a_wrong_one(w, caplog):
    caplog.set_level(logging.WARNING)
    wrong = Client().post("/login/", {"username": "analyst", "password": "not-the-password"})
    assert wrong.status_code == 200 and "Wrong username or password" in wrong.content.decode()
    client = Client()
    right = client.post("/login/", {"username": "analyst", "password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == "/"
    assert client.session["_auth_user_id"] == str(w.analyst.pk)
    assert "cache unavailable" in caplog.text
    # The admin's log-in page goes through the same throttle backend.
    admin = Client()
    assert admin.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD}).status_code == 302
    assert Client().post("/admin/login/", {"username": "root", "password": "bad"}).status_code == 200


@override_settings(CACHES=DEAD_REDIS, SOAR_REPORT_CACHE_SECONDS=60)
def test_reports_render_without_the_cache(w):
    client = Client()
    client.force_login(w.lead)
    assert client.get("/reports/").status_code == 200
    summary = client.get("/api/v1/reports/summary")
    assert summary.status_code == 200 and summary.json()
