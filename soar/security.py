"""Web hardening that Django does not ship: a Content-Security-Policy header and log-in
throttling. docs/security.md says what each control protects against."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import JsonResponse
from django.urls import NoReverseMatch, reverse

from soar import safe_cache

logger = logging.getLogger(__name__)


# --- Content-Security-Policy ----------------------------------------------------------------

class ContentSecurityPolicyMiddleware:
    """Adds SOAR_CSP (SOAR_CSP_API_DOCS under the Swagger UI) to every response while
    SOAR_CSP_ENABLED. A view may set its own header; it is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = getattr(settings, "SOAR_CSP_ENABLED", False)
        self.header = ("Content-Security-Policy-Report-Only" if getattr(settings, "SOAR_CSP_REPORT_ONLY", False)
                       else "Content-Security-Policy")
        self.permissions_policy = getattr(settings, "SOAR_PERMISSIONS_POLICY", "")
        self._docs_prefix = None

    def __call__(self, request):
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

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                          for key, values in request.GET.lists()):
            return JsonResponse({"detail": "NUL characters are not allowed in the URL."}, status=400)
        return self.get_response(request)


# --- log-in throttling ------------------------------------------------------------------------
# Failures are counted in the cache per username and per client address (REMOTE_ADDR only:
# X-Forwarded-For is not trusted). Once a counter reaches its limit, every log-in attempt for
# that username / from that address is refused, with the right password too, until the
# counter expires SOAR_LOGIN_LOCKOUT_SECONDS later. The limits are enforced by an
# authentication backend, so the admin's log-in page is throttled as well; ThrottledLoginView
# only turns the refusal into a clear message and HTTP 429.

def _username_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return f"soar:login-failures:user:{digest}"


def _address_key(address: str) -> str:
    return f"soar:login-failures:ip:{address}"


def _client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


def _counters(username: str, address: str) -> list[tuple[str, int]]:
    """(cache key, limit) of each counter that applies; a limit of 0 switches it off."""
    counters = []
    if username and settings.SOAR_LOGIN_MAX_FAILURES > 0:
        counters.append((_username_key(username), settings.SOAR_LOGIN_MAX_FAILURES))
    if address and settings.SOAR_LOGIN_MAX_FAILURES_PER_IP > 0:
        counters.append((_address_key(address), settings.SOAR_LOGIN_MAX_FAILURES_PER_IP))
    return counters


def login_locked(username: str, address: str) -> bool:
    return any((safe_cache.get(key) or 0) >= limit for key, limit in _counters(username, address))


def record_login_failure(username: str, address: str) -> None:
    lockout = settings.SOAR_LOGIN_LOCKOUT_SECONDS
    for key, limit in _counters(username, address):
        count = safe_cache.incr(key, timeout=lockout)
        if count == limit:
            # The lock lasts a full period from the failure that triggered it.
            safe_cache.set(key, count, timeout=lockout)
            logger.warning("log-in locked for %s seconds after %s failures (%s)", lockout, count,
                           "username" if ":user:" in key else f"address {address}")


def clear_login_failures(username: str) -> None:
    # Only the username's counter: a valid account must not reset an address's counter.
    safe_cache.delete(_username_key(username))


class LoginThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: refuses, before any password is checked, while the
    username or the client address is locked. Authenticates nobody itself."""

    def authenticate(self, request, username=None, **credentials):
        if username is not None and login_locked(str(username), _client_address(request)):
            raise PermissionDenied("too many failed log-ins")
        return None

    def get_user(self, user_id):
        # Being first, this backend is what test clients' force_login() records in the session.
        return ModelBackend().get_user(user_id)


@receiver(user_login_failed, dispatch_uid="soar.security.count_login_failure")
def _count_login_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")
    address = _client_address(request)
    if not login_locked(username, address):
        record_login_failure(username, address)


@receiver(user_logged_in, dispatch_uid="soar.security.reset_login_failures")
def _reset_login_failures(sender, request, user, **kwargs):
    clear_login_failures(user.get_username())


class ThrottledLoginView(LoginView):
    """django.contrib.auth's log-in page, answering 429 with a clear message while locked."""

    LOCKED_MESSAGE = "Too many failed log-in attempts. Try again in {minutes} minute(s)."

    def post(self, request, *args, **kwargs):
        if login_locked(request.POST.get("username", ""), _client_address(request)):
            return self._locked_response()
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if login_locked(form.data.get("username", ""), _client_address(self.request)):
            return self._locked_response()
        return super().form_invalid(form)

    def _locked_response(self):
        minutes = max(1, -(-settings.SOAR_LOGIN_LOCKOUT_SECONDS // 60))
        form = self.get_form_class()(self.request)  # unbound: the password is not echoed
        context = self.get_context_data(form=form, locked_message=self.LOCKED_MESSAGE.format(minutes=minutes))
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(settings.SOAR_LOGIN_LOCKOUT_SECONDS)
        return response
