"""Styled 403/404/500 pages inside the layout, the favicon, and the API's JSON errors."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path

from soar import urls as soar_urls
from soar import views
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("secret-internal-detail in a traceback")


def _forbidden(request):
    raise PermissionDenied("Only SOC leads may do this here.")


# The project's handlers with two extra views that fail, as a test URLconf.
urlpatterns = [path("test-boom/", _boom), path("test-forbidden/", _forbidden), *soar_urls.urlpatterns]
handler403 = soar_urls.handler403
handler404 = soar_urls.handler404
handler500 = soar_urls.handler500


@pytest.fixture
def w():
    return build_world()


def test_404_is_styled_inside_the_layout_with_the_navigation(client, w):
    client.force_login(w.analyst)
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="mainnav"' in html and "Page not found" in html and 'rel="icon"' in html
    assert "Traceback" not in html and "URLconf" not in html  # no list of URL patterns
    # A case of another team: the same page, without its title.
    other = client.get(f"/cases/{w.red_case.pk}/")
    assert other.status_code == 404 and "Red lateral movement" not in other.content.decode()
    assert "Page not found" in other.content.decode()


def test_404_signed_out_has_the_layout_but_no_navigation(client, w):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404 and "Page not found" in html and 'class="topbar"' in html
    assert 'class="mainnav"' not in html


def test_404_under_the_api_stays_json(client, w):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_403_is_styled_and_says_why(client, w, settings):
    settings.ROOT_URLCONF = __name__
    client.force_login(w.analyst)
    response = client.get("/test-forbidden/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "You may not do this" in html and "Only SOC leads may do this here." in html
    assert 'class="mainnav"' in html


def test_403_of_a_real_page_analyst_on_the_audit_log(client, w):
    client.force_login(w.analyst)
    response = client.get("/audit/")
    assert response.status_code == 403 and 'class="mainnav"' in response.content.decode()


def test_500_is_styled_without_stack_trace_and_without_database(w, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(w.analyst)
    with CaptureQueriesContext(connection) as queries:
        direct = views.server_error(RequestFactory().get("/x"))
    assert direct.status_code == 500 and len(queries) == 0
    response = client.get("/test-boom/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and 'class="topbar"' in html
    assert "secret-internal-detail" not in html and "Traceback" not in html and "RuntimeError" not in html


def test_500_falls_back_to_plain_html_when_the_template_breaks(monkeypatch):
    def broken(name):
        raise RuntimeError("template engine down")

    monkeypatch.setattr(views.loader, "get_template", broken)
    response = views.server_error(RequestFactory().get("/page"))
    assert response.status_code == 500 and b"Something went wrong" in response.content


def test_favicon_route_and_link(client, w):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")
    client.force_login(w.analyst)
    assert 'rel="icon"' in client.get("/").content.decode()
