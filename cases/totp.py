"""TOTP second factor for local accounts (django-otp's TOTP devices).

At log-in (any log-in page: /login/, the admin's) the session of a local account is marked
(user_logged_in): "otp" when the user has a confirmed TOTP device, "setup" when they have none
but SOAR_TOTP_REQUIRED_FOR_STAFF requires one of staff and admins. SecondFactorMiddleware then
sends every page to /login/otp/ (or /me/totp/) and answers 403 on the API until the code is
given; the mark is a session value, so the check costs no query. SSO sessions (OIDC, LDAP) are
the directory's business and are not marked. API tokens are not affected (a token is its own
credential, created from a session that passed this step)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import roles
from cases.services import record_audit
from cases.sso import SSO_BACKENDS
from soar import security
from soar.errors import InvalidInput, NotAllowed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PENDING_KEY = "soar_second_factor"  # "otp" or "setup" while the second factor is owed
OTP = "otp"
SETUP = "setup"
DEVICE_NAME = "Authenticator app"


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def requires_totp(user: User) -> bool:
    return settings.SOAR_TOTP_REQUIRED_FOR_STAFF and (user.is_staff or roles.is_admin(user))


@receiver(user_logged_in, dispatch_uid="cases.totp.mark_second_factor")
def mark_second_factor(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session.pop(PENDING_KEY, None)
    if request.session.get(BACKEND_SESSION_KEY) in SSO_BACKENDS:
        return
    if confirmed_device(user) is not None:
        request.session[PENDING_KEY] = OTP
    elif requires_totp(user):
        request.session[PENDING_KEY] = SETUP


class SecondFactorMiddleware:
    """After AuthenticationMiddleware: holds a session whose second factor is owed (see above)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        pending = request.session.get(PENDING_KEY) if hasattr(request, "session") else None
        if pending and request.user.is_authenticated:
            target = reverse("cases:otp") if pending == OTP else reverse("cases:totp")
            allowed = (target, reverse("logout"), settings.STATIC_URL if settings.STATIC_URL.startswith("/")
                       else f"/{settings.STATIC_URL}")
            if not request.path.startswith(allowed):
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "Second factor required: log in again in the browser.",
                                         "code": "second_factor_required"}, status=403)
                return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def verify_login_code(request: HttpRequest, code: str) -> None:
    """The /login/otp/ step: the code of the user's confirmed device clears the mark. Wrong codes
    count as failed log-ins of the user from this address (the log-in throttle's lock applies)."""
    user = request.user
    address = security.client_address(request)
    username = user.get_username()
    if security.login_locked(username, address):
        raise NotAllowed(security.locked_message(security.login_lock_remaining(username, address)),
                         code="locked", retry_after=security.login_lock_remaining(username, address))
    device = confirmed_device(user)  # type: ignore[arg-type]
    if device is None or not device.verify_token(code.strip()):
        security.record_login_failure(username, address)
        raise InvalidInput("Wrong or expired code.", field="code")
    otp_login(request, device)
    request.session.pop(PENDING_KEY, None)
    security.clear_login_failures(username, address)


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device being set up (its secret shown on /me/totp), made if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def confirm_device(request: HttpRequest, code: str) -> TOTPDevice:
    """Turns TOTP on: the first code from the app proves the secret was scanned."""
    user = request.user
    if confirmed_device(user) is not None:  # type: ignore[arg-type]
        raise InvalidInput("TOTP is already on.")
    device = pending_device(user)  # type: ignore[arg-type]
    if not device.verify_token(code.strip()):
        raise InvalidInput("Wrong code: check the phone's clock and type the current code.", field="code")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    request.session.pop(PENDING_KEY, None)
    record_audit("user.totp_enable", user, actor=user)  # type: ignore[arg-type]
    return device


def disable_totp(request: HttpRequest, code: str) -> None:
    """Turns TOTP off, with a current code; refused while it is required of this user."""
    user = request.user
    if requires_totp(user):  # type: ignore[arg-type]
        raise NotAllowed("TOTP is required for staff and administrators here.")
    device = confirmed_device(user)  # type: ignore[arg-type]
    if device is None:
        raise InvalidInput("TOTP is not on.")
    if not device.verify_token(code.strip()):
        raise InvalidInput("Wrong code.", field="code")
    TOTPDevice.objects.filter(user=user).delete()
    record_audit("user.totp_disable", user, actor=user)  # type: ignore[arg-type]
