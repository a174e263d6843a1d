"""soar/errors.py: one refusal type, mapped to HTTP in the API's exception handler and the
pages' middleware."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from soar import errors
from soar.middleware import ApplicationErrorMiddleware


@pytest.mark.parametrize(("kind", "status"), [
    (errors.InvalidInput, 400), (errors.NotAuthenticated, 401), (errors.NotAllowed, 403), (errors.NotFound, 404),
    (errors.Conflict, 409), (errors.TooLarge, 413), (errors.UnsupportedFormat, 415), (errors.RateLimited, 429),
    (errors.Unavailable, 503), (errors.ApplicationError, 400),
])
def test_each_kind_has_one_status(kind, status):
    class Refusing(APIView):
        authentication_classes = ()
        permission_classes = ()

        def get(self, request):
            raise kind("no way", field="title")

    response = Refusing.as_view()(APIRequestFactory().get("/api/v1/x"))
    assert response.status_code == status
    assert response.data == {"detail": "no way", "code": kind.code, "title": ["no way"]}


def test_a_domain_subclass_keeps_its_kind_and_the_retry_hint():
    class TooManyTokens(errors.RateLimited):
        code = "too_many_tokens"

    class Refusing(APIView):
        authentication_classes = ()
        permission_classes = ()

        def post(self, request):
            raise TooManyTokens("slow down", retry_after=30)

    response = Refusing.as_view()(APIRequestFactory().post("/api/v1/x"))
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert response.data == {"detail": "slow down", "code": "too_many_tokens"}


def test_structured_errors_replace_the_detail():
    exc = errors.InvalidInput(errors={"errors": {"0": {"title": ["required"]}}})
    assert exc.body() == {"errors": {"0": {"title": ["required"]}}}


def _page_request(method, referrer=None):
    factory = RequestFactory()
    extra = {"HTTP_REFERER": referrer} if referrer else {}
    request = factory.post("/cases/1/status", **extra) if method == "POST" else factory.get("/cases/1", **extra)
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.django_db
def test_a_page_post_goes_back_with_the_message():
    middleware = ApplicationErrorMiddleware(lambda request: None)
    request = _page_request("POST", referrer="http://testserver/cases/1")
    response = middleware.process_exception(request, errors.Conflict("Case is closed."))
    assert response.status_code == 302 and response["Location"] == "http://testserver/cases/1"
    assert [str(m) for m in request._messages] == ["Case is closed."]


@pytest.mark.django_db
def test_a_page_get_or_a_foreign_referrer_renders_the_error_page_with_its_status():
    middleware = ApplicationErrorMiddleware(lambda request: None)
    for request in (_page_request("GET"), _page_request("POST", referrer="https://evil.example/x")):
        request.user = AnonymousUser()
        response = middleware.process_exception(request, errors.NotAllowed("Only leads may do this."))
        assert response.status_code == 403
        assert b"Only leads may do this." in response.content


def test_other_exceptions_are_not_the_middlewares_business():
    middleware = ApplicationErrorMiddleware(lambda request: None)
    assert middleware.process_exception(_page_request("GET"), ValueError("bug")) is None
