"""CSRF on every form: each page route of the URL resolver (admin included) refuses a POST
without a token from a logged-in user, and the session-authenticated API refuses unsafe
methods without one too. The routes are discovered, so a new form is covered without a new test."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import get_resolver, resolve
from django.urls.resolvers import URLResolver
from rest_framework.views import APIView

from cases.models import AuditLog, Case, Note
from tests.factories import build_world

pytestmark = pytest.mark.django_db

# Forms that must exist (so that the discovery below cannot silently find nothing).
KNOWN_POST_PAGES = {
    "login", "logout", "password_change", "cases:transition", "cases:assign", "cases:tags", "cases:note",
    "cases:share", "cases:update", "cases:merge", "cases:bulk", "alerts:promote", "alerts:attach",
    "enrichment:run_case", "admin:login", "admin:auth_user_add",
}
# Sender-authenticated endpoints: a bearer token, never a cookie, so CSRF does not apply.
TOKEN_ONLY_API = {"api-ingest-batch"}
GET_ONLY_HTML_API = {"api-docs"}
# Routes shadowed on purpose by an earlier pattern on the same path (soar/urls.py).
SHADOWED = {"admin:login": "admin-login-throttled"}


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        else:
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, entry.callback


def sample_path(pattern: str, pk: int) -> str:
    def route_value(match):
        converter, name = match.group(1) or "str", match.group(2)
        if converter == "int" or name in ("id", "pk", "object_id") or name.endswith("_id"):
            return str(pk)
        return {"uidb64": "MQ", "token": "set-password", "list_name": "default"}.get(name, "x")

    def regex_value(match):
        alternatives = match.group(2)
        return alternatives.split("|")[0] if re.fullmatch(r"[\w|]+", alternatives) else str(pk)

    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", regex_value, pattern)
    path = re.sub(r"<(?:(\w+):)?(\w+)>", route_value, path)
    path = path.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return "/" + path


def routes(pk):
    for pattern, name, callback in walk(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        path = sample_path(pattern, pk)
        match = resolve(path.split("?")[0])
        expected_name = SHADOWED.get(name, (name or "").split(":")[-1])
        assert match.func is callback or match.url_name == expected_name, (pattern, path)
        is_api = isinstance(view_class, type) and issubclass(view_class, APIView)
        yield path, name, callback, is_api


@pytest.fixture
def w():
    return build_world()


def logged_in(user, enforce_csrf: bool) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def test_every_page_route_refuses_a_post_without_csrf_token(w):
    pk = w.blue_case.pk
    page_routes = [(path, name, callback) for path, name, callback, is_api in routes(pk) if not is_api]
    assert len(page_routes) > 50  # admin + pages: the walk found the resolver's routes
    status_before = Case.objects.get(pk=pk).status
    audit_before, notes_before = AuditLog.objects.count(), Note.objects.count()

    accepts_post = set()
    for path, name, callback in page_routes:
        assert not getattr(callback, "csrf_exempt", False), f"{path} ({name}) is csrf_exempt"
        attacker = logged_in(w.admin, enforce_csrf=True)
        data = {"status": "CLOSED", "body": "forged", "to_status": "CLOSED", "username": "root", "password": "x"}
        response = attacker.post(path, data)
        assert response.status_code == 403, (path, name, response.status_code)
        assert b"CSRF verification failed" in response.content, (path, name)
        # With a token the same route answers something other than 405: it does take POSTs.
        if not (name or "").startswith("admin:"):
            if logged_in(w.admin, enforce_csrf=False).post(path).status_code != 405:
                accepts_post.add(name)

    assert KNOWN_POST_PAGES - {n for _, n, _ in page_routes} == set()
    assert {n for n in KNOWN_POST_PAGES if not n.startswith("admin:")} <= accepts_post
    # The refused requests changed nothing.
    assert Case.objects.get(pk=pk).status == status_before
    assert Note.objects.filter(body="forged").count() == 0 and Note.objects.count() == notes_before
    assert AuditLog.objects.filter(action__startswith="case.").count() <= audit_before


def test_session_authenticated_api_refuses_unsafe_methods_without_csrf_token(w):
    pk = w.blue_case.pk
    api_routes = [(path, name) for path, name, _, is_api in routes(pk) if is_api]
    assert len(api_routes) > 20
    attacker = logged_in(w.admin, enforce_csrf=True)
    checked = 0
    for path, name in api_routes:
        if name in TOKEN_ONLY_API:
            continue
        for method in ("post", "put", "patch", "delete"):
            response = getattr(attacker, method)(path, data="{}", content_type="application/json")
            if response.status_code == 405:
                continue
            checked += 1
            detail = response.content.decode(errors="replace")
            if name == "api-ingest-alert" and method == "post":
                # The webhook ignores session cookies: without a source token it is 401, whoever is logged in.
                assert response.status_code == 401, response.content
                continue
            if name in GET_ONLY_HTML_API:  # refused, but rendered as a template, not JSON
                assert response.status_code == 403, (method, path)
                continue
            assert response.status_code == 403 and "CSRF" in detail, (method, path, response.status_code, detail)
    assert checked > 15
    assert Case.objects.get(pk=pk).status == w.blue_case.status


def test_a_form_with_its_token_is_accepted(w):
    """The other side of the check: the real form (token from the page) works under enforcement."""
    client = logged_in(w.lead, enforce_csrf=True)
    client.get(f"/cases/{w.blue_case.pk}/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/cases/{w.blue_case.pk}/notes", {"body": "with token", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Note.objects.filter(body="with token").exists()
