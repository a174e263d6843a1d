"""Log-in throttling (soar/security.py), password validators and session expiry."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def attempt(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


@override_settings(SOAR_LOGIN_MAX_FAILURES=3, SOAR_LOGIN_MAX_FAILURES_PER_IP=100, SOAR_LOGIN_LOCKOUT_SECONDS=120)
def test_address_and_username_pair_is_locked_after_max_failures_even_with_the_right_password(w):
    client = Client()
    for _ in range(2):
        response = attempt(client, "analyst", "wrong-password")
        assert response.status_code == 200 and "Wrong username or password" in response.content.decode()
    third = attempt(client, "analyst", "wrong-password")
    assert third.status_code == 429 and third["Retry-After"] == "120"
    assert "Too many failed log-in attempts. Try again in 2 minute(s)." in third.content.decode()
    locked = attempt(client, "analyst", PASSWORD)
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    assert "wrong-password" not in locked.content.decode()
    # The same address may still log in to other accounts.
    other = attempt(Client(), "lead", PASSWORD)
    assert other.status_code == 302 and other["Location"] == "/"


@override_settings(SOAR_LOGIN_MAX_FAILURES=3, SOAR_LOGIN_MAX_FAILURES_PER_IP=100, SOAR_LOGIN_LOCKOUT_SECONDS=120)
def test_failures_from_one_address_do_not_lock_the_user_out_from_another(w):
    """An attacker typing wrong passwords for a named user does not lock that user out."""
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(10):
        attempt(attacker, "analyst", "wrong-password")
    assert attempt(attacker, "analyst", PASSWORD).status_code == 429
    user = Client(REMOTE_ADDR="198.51.100.4")
    response = attempt(user, "analyst", PASSWORD)
    assert response.status_code == 302 and user.session["_auth_user_id"] == str(w.analyst.pk)
    assert authenticate(username="analyst", password=PASSWORD) == w.analyst  # no request: not that address


@override_settings(SOAR_LOGIN_MAX_FAILURES=2, SOAR_LOGIN_MAX_FAILURES_PER_IP=100, SOAR_LOGIN_LOCKOUT_SECONDS=60,
                   SOAR_LOGIN_LOCKOUT_MAX_SECONDS=200)
def test_the_pair_lock_doubles_at_each_further_failure_up_to_the_maximum(w, monkeypatch):
    import soar.security

    now = [1_000_000.0]
    monkeypatch.setattr(soar.security.time, "time", lambda: now[0])
    client = Client(REMOTE_ADDR="203.0.113.9")
    attempt(client, "analyst", "bad")
    assert attempt(client, "analyst", "bad")["Retry-After"] == "60"
    for previous, expected in ((60, "120"), (120, "200"), (200, "200")):
        now[0] += previous + 1  # the lock has run out; the failure count is kept
        assert attempt(client, "analyst", "bad")["Retry-After"] == expected
    now[0] += 201
    assert attempt(client, "analyst", PASSWORD).status_code == 302  # success forgets the count
    client.post("/logout/")
    assert attempt(client, "analyst", "bad").status_code == 200


@override_settings(SOAR_LOGIN_MAX_FAILURES=3, SOAR_LOGIN_MAX_FAILURES_PER_IP=100, SOAR_LOGIN_LOCKOUT_SECONDS=120)
def test_usernames_differing_in_case_share_a_counter(w):
    for name in ("analyst", "ANALYST", "Analyst"):
        attempt(Client(), name, "nope")  # one address
    assert attempt(Client(), "analyst", PASSWORD).status_code == 429


@override_settings(SOAR_LOGIN_MAX_FAILURES=100, SOAR_LOGIN_MAX_FAILURES_PER_IP=4, SOAR_LOGIN_LOCKOUT_SECONDS=60)
def test_one_address_spraying_many_usernames_is_locked(w):
    sprayer = Client(REMOTE_ADDR="203.0.113.66")
    for n in range(3):
        assert attempt(sprayer, f"user{n}", "Winter2026!").status_code == 200
    assert attempt(sprayer, "user9", "Winter2026!").status_code == 429
    assert attempt(sprayer, "lead", PASSWORD).status_code == 429
    # X-Forwarded-For is not trusted: a forged header does not escape the address lock.
    assert sprayer.post("/login/", {"username": "lead", "password": PASSWORD},
                        HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 429
    assert attempt(Client(REMOTE_ADDR="203.0.113.67"), "lead", PASSWORD).status_code == 302


@override_settings(SOAR_LOGIN_MAX_FAILURES=3, SOAR_LOGIN_MAX_FAILURES_PER_IP=100, SOAR_LOGIN_LOCKOUT_SECONDS=60)
def test_success_resets_the_username_counter(w):
    client = Client()
    attempt(client, "analyst", "bad")
    attempt(client, "analyst", "bad")
    assert attempt(client, "analyst", PASSWORD).status_code == 302
    client.post("/logout/")
    attempt(client, "analyst", "bad")
    attempt(client, "analyst", "bad")
    assert attempt(client, "analyst", PASSWORD).status_code == 302


@override_settings(SOAR_LOGIN_MAX_FAILURES=2, SOAR_LOGIN_MAX_FAILURES_PER_IP=100, SOAR_LOGIN_LOCKOUT_SECONDS=60)
def test_admin_login_page_is_throttled_too(w):
    client = Client()
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "bad"})
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in client.session  # refused
    assert response["Retry-After"] == "60"
    assert "Too many failed log-in attempts. Try again in 1 minute(s)." in response.content.decode()
    assert PASSWORD not in response.content.decode()
    assert attempt(Client(), "root", PASSWORD).status_code == 429
    assert Client().get("/admin/login/").status_code == 200
    # Another address logs in to the admin as usual.
    other = Client(REMOTE_ADDR="198.51.100.4")
    assert other.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD}).status_code == 302


def test_lock_expires(w, settings):
    settings.SOAR_LOGIN_MAX_FAILURES, settings.SOAR_LOGIN_LOCKOUT_SECONDS = 1, 1
    assert attempt(Client(), "analyst", "bad").status_code == 429
    assert attempt(Client(), "analyst", PASSWORD).status_code == 429
    import time

    time.sleep(1.2)
    assert attempt(Client(), "analyst", PASSWORD).status_code == 302


@pytest.mark.parametrize("password", ["short1!", "password123", "1234567890123", "analyst123"])
def test_weak_passwords_are_refused(w, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=w.analyst)


def test_a_strong_password_passes_and_sessions_expire(w, settings):
    validate_password("correct horse battery staple", user=w.analyst)
    client = Client()
    attempt(client, "analyst", PASSWORD)
    assert 0 < client.session.get_expiry_age() <= settings.SESSION_COOKIE_AGE <= 12 * 3600
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
