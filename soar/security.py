"""Web hardening that Django does not ship: a Content-Security-Policy header and log-in
throttling. docs/security.md says what each control protects against."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import NoReverseMatch, reverse

from soar import safe_cache

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


# --- Content-Security-Policy ----------------------------------------------------------------

class ContentSecurityPolicyMiddleware:
    """Adds SOAR_CSP (SOAR_CSP_API_DOCS under the Swagger UI) to every response while
    SOAR_CSP_ENABLED. A view may set its own header; it is left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.enabled = getattr(settings, "SOAR_CSP_ENABLED", False)
        self.header = ("Content-Security-Policy-Report-Only" if getattr(settings, "SOAR_CSP_REPORT_ONLY", False)
                       else "Content-Security-Policy")
        self.permissions_policy = getattr(settings, "SOAR_PERMISSIONS_POLICY", "")
        self._docs_prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.permissions_policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions_policy
        if self.enabled and self.header not in response:
            policy = settings.SOAR_CSP_API_DOCS if self._is_api_docs(request.path) else settings.SOAR_CSP
            if policy:
                response[self.header] = policy
        return response

    def _is_api_docs(self, path: str) -> bool:
        if self._docs_prefix is None:
            try:
                self._docs_prefix = reverse("api-docs")
            except NoReverseMatch:
                self._docs_prefix = ""
        return bool(self._docs_prefix) and path.startswith(self._docs_prefix)


# --- URLs PostgreSQL cannot compare -------------------------------------------------------------

class RejectNulInUrlMiddleware:
    """A NUL character in the path or the query string is a 400 for every view: PostgreSQL
    cannot compare strings holding one, so a filter like ``?status=%00`` was a 500 wherever a
    parameter reaches a query without a form field (which would refuse it) in between."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                          for key, values in request.GET.lists()):
            return JsonResponse({"detail": "NUL characters are not allowed in the URL."}, status=400)
        return self.get_response(request)


# --- log-in throttling ------------------------------------------------------------------------
# Failures are counted in the cache (soar/safe_cache.py, failing open) per (client address,
# username) pair and per client address (REMOTE_ADDR only: X-Forwarded-For is not trusted).
# Not per username alone: anyone could then lock a named colleague out by typing wrong
# passwords on purpose; a pair lock only stops the address that failed.
# * pair: SOAR_LOGIN_MAX_FAILURES failures lock that address out of that account for
#   SOAR_LOGIN_LOCKOUT_SECONDS, doubled at every further failure (exponential backoff, no
#   CAPTCHA) up to SOAR_LOGIN_LOCKOUT_MAX_SECONDS; the count is forgotten after a quiet
#   SOAR_LOGIN_LOCKOUT_MAX_SECONDS (after the lock) or a successful log-in from that address;
# * address: SOAR_LOGIN_MAX_FAILURES_PER_IP failures (any usernames: spraying) lock the address
#   out of every account for SOAR_LOGIN_LOCKOUT_SECONDS.
# While locked, every attempt is refused, with the right password too, and not counted. The
# limits are enforced by an authentication backend, so the admin's log-in page is throttled as
# well; ThrottledLoginView / throttled_admin_login turn the refusal into HTTP 429.

def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _pair_id(username: str, address: str) -> str:
    return f"login-pair:{_digest(username.strip().lower(), address)}"


def _address_id(address: str) -> str:
    return f"login-ip:{address}"


def _client_address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


def _lock_remaining(ident: str) -> int:
    """Seconds left on the lock of ``ident`` (0: not locked). The lock's value is its end time."""
    until = safe_cache.get(f"soar:lock:{ident}")
    return max(0, math.ceil(until - time.time())) if until else 0


def _record_failure(ident: str, limit: int, lock_seconds: Callable[[int], int], memory: int) -> int:
    """Counts one failure of ``ident``; at ``limit`` failures and beyond, locks it for
    ``lock_seconds(failures)``. Returns the lock's length (0: not locked)."""
    key = f"soar:failures:{ident}"
    failures = safe_cache.incr(key, timeout=memory)
    if failures < limit:
        return 0
    seconds = lock_seconds(failures)
    safe_cache.set(f"soar:lock:{ident}", time.time() + seconds, timeout=seconds)
    safe_cache.touch(key, seconds + memory)  # remembered for a quiet ``memory`` after the lock
    return seconds


def _pair_lock_seconds(failures: int) -> int:
    base, cap = settings.SOAR_LOGIN_LOCKOUT_SECONDS, settings.SOAR_LOGIN_LOCKOUT_MAX_SECONDS
    # min() on the exponent first: 2 ** a huge count is a huge integer.
    return min(cap, base * 2 ** min(failures - settings.SOAR_LOGIN_MAX_FAILURES, 32))


def login_lock_remaining(username: str, address: str) -> int:
    """Seconds before ``username`` may try to log in again from ``address`` (0: now)."""
    remaining = 0
    if username and settings.SOAR_LOGIN_MAX_FAILURES > 0:
        remaining = _lock_remaining(_pair_id(username, address))
    if address and settings.SOAR_LOGIN_MAX_FAILURES_PER_IP > 0:
        remaining = max(remaining, _lock_remaining(_address_id(address)))
    return remaining


def login_locked(username: str, address: str) -> bool:
    return login_lock_remaining(username, address) > 0


def record_login_failure(username: str, address: str) -> None:
    base = settings.SOAR_LOGIN_LOCKOUT_SECONDS
    if username and settings.SOAR_LOGIN_MAX_FAILURES > 0:
        memory = max(base, settings.SOAR_LOGIN_LOCKOUT_MAX_SECONDS)
        seconds = _record_failure(_pair_id(username, address), settings.SOAR_LOGIN_MAX_FAILURES,
                                  _pair_lock_seconds, memory)
        if seconds:
            logger.warning("log-in to one account from address %s locked for %s seconds", address, seconds)
    if address and settings.SOAR_LOGIN_MAX_FAILURES_PER_IP > 0:
        seconds = _record_failure(_address_id(address), settings.SOAR_LOGIN_MAX_FAILURES_PER_IP,
                                  lambda failures: base, base)
        if seconds:
            safe_cache.delete(f"soar:failures:{_address_id(address)}")  # a fresh count after the lock
            logger.warning("log-in from address %s locked for %s seconds", address, seconds)


def clear_login_failures(username: str, address: str) -> None:
    # Only the pair's counter: a valid account must not reset an address's counter.
    ident = _pair_id(username, address)
    safe_cache.delete(f"soar:failures:{ident}", f"soar:lock:{ident}")


# --- token guessing ---------------------------------------------------------------------------
# Wrong bearer tokens (webhook source tokens, DRF user tokens) are counted per client address;
# at SOAR_TOKEN_MAX_FAILURES_PER_IP the address gets 429 + Retry-After for
# SOAR_TOKEN_LOCKOUT_SECONDS, valid tokens included, so guessing costs a lock-out per few tries.
# Per address only: a token names no account an attacker could lock out. Fails open with the cache.

def _token_id(address: str) -> str:
    return f"token-ip:{address}"


def token_lock_remaining(address: str) -> int:
    """Seconds before ``address`` may present a token again (0: now)."""
    if settings.SOAR_TOKEN_MAX_FAILURES_PER_IP <= 0:
        return 0
    return _lock_remaining(_token_id(address))


def record_token_failure(address: str) -> None:
    limit, seconds = settings.SOAR_TOKEN_MAX_FAILURES_PER_IP, settings.SOAR_TOKEN_LOCKOUT_SECONDS
    if limit <= 0:
        return
    if _record_failure(_token_id(address), limit, lambda failures: seconds, seconds):
        safe_cache.delete(f"soar:failures:{_token_id(address)}")  # a fresh count after the lock
        logger.warning("token authentication from address %s locked for %s seconds", address, seconds)


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR (X-Forwarded-For is not trusted); works on Django and DRF requests."""
    return _client_address(request)


class LoginThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: refuses, before any password is checked, while the
    username or the client address is locked. Authenticates nobody itself."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **credentials: Any) -> None:
        if username is not None and login_locked(str(username), _client_address(request)):
            raise PermissionDenied("too many failed log-ins")
        return None

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        # Being first, this backend is what test clients' force_login() records in the session.
        return ModelBackend().get_user(user_id)


class LocalPasswordBackend(ModelBackend):
    """Django's ModelBackend (passwords kept here, and the model permissions), refusing every local
    password while SOAR_LOCAL_LOGIN is off except those of the SOAR_BREAK_GLASS_USERS: with single
    sign-on in force, a leaked local password is then worth nothing, and an administrator can still
    get in while the directory is down. An SSO account has no usable password here at all."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> User | None:
        if username is not None and not local_login_allowed(str(username)):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def local_login_allowed(username: str) -> bool:
    return settings.SOAR_LOCAL_LOGIN or username.strip().lower() in settings.SOAR_BREAK_GLASS_USERS


@receiver(user_login_failed, dispatch_uid="soar.security.count_login_failure")
def _count_login_failure(sender: object, credentials: dict[str, Any], request: HttpRequest | None = None,
                         **kwargs: Any) -> None:
    username = str(credentials.get("username") or "")
    address = _client_address(request)
    if not login_locked(username, address):
        record_login_failure(username, address)


@receiver(user_logged_in, dispatch_uid="soar.security.reset_login_failures")
def _reset_login_failures(sender: object, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any) -> None:
    clear_login_failures(user.get_username(), _client_address(request))


class ThrottledLoginView(LoginView):
    """django.contrib.auth's log-in page, answering 429 with a clear message while locked."""

    LOCKED_MESSAGE = "Too many failed log-in attempts. Try again in {minutes} minute(s)."

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The password form is shown openly while local or LDAP log-in is on; with only OIDC
        # (local log-in off) it folds away as the break-glass form.
        return super().get_context_data(
            oidc_enabled=settings.SOAR_OIDC_ENABLED, oidc_label=settings.SOAR_OIDC_LABEL,
            local_login=settings.SOAR_LOCAL_LOGIN,
            password_form=(settings.SOAR_LOCAL_LOGIN or settings.SOAR_LDAP_LOGIN_ENABLED
                           or not settings.SOAR_OIDC_ENABLED),
            sso_failed=self.request.GET.get("sso") == "failed", **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        remaining = login_lock_remaining(request.POST.get("username", ""), _client_address(request))
        if remaining:
            return self._locked_response(remaining)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        remaining = login_lock_remaining(form.data.get("username", ""), _client_address(self.request))
        if remaining:
            return self._locked_response(remaining)
        return super().form_invalid(form)

    def _locked_response(self, remaining: int) -> HttpResponse:
        form = self.get_form_class()(self.request)  # unbound: the password is not echoed
        context = self.get_context_data(form=form, locked_message=locked_message(remaining))
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(remaining)
        return response


def locked_message(remaining: int) -> str:
    return ThrottledLoginView.LOCKED_MESSAGE.format(minutes=max(1, -(-remaining // 60)))


def throttled_admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's log-in page (``admin.site.login``), answering 429 + Retry-After like /login/
    while the address or the (address, username) pair is locked. LoginThrottleBackend already
    refuses the attempt; this only makes the refusal visible (status, header, message)."""
    response = admin.site.login(request, extra_context)
    if request.method != "POST" or response.status_code != 200:
        return response  # a GET, or a successful log-in's redirect
    remaining = login_lock_remaining(request.POST.get("username", ""), _client_address(request))
    if remaining:
        form = getattr(response, "context_data", {}).get("form")
        if form is not None:
            form.add_error(None, locked_message(remaining))
        response.status_code = 429
        response["Retry-After"] = str(remaining)
    return response
