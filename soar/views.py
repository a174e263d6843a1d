import logging

from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static

logger = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "There is nothing at this address, or it is not yours to see."
FORBIDDEN_MESSAGE = "Your role does not allow this."
# Written out here so that a broken template or template engine still gives a readable page.
BARE_SERVER_ERROR = ("<!doctype html><title>Server error · Mini-SOAR</title>"
                     "<h1>Something went wrong on our side</h1><p>The error was logged. <a href=\"/\">Back</a></p>")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database reachability, for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any DB failure means "not ready"
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico before they read the page's <link rel="icon">."""
    response = HttpResponseRedirect(static("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: under /api/ a JSON error as DRF gives (a path such as /api/v1/cases/-1 does not
    reach DRF: its converter refuses it), the page inside the layout elsewhere. The message never
    repeats the exception's text: a resolver's lists the URL patterns, a view's may name a thing."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", {"status": 404, "message": NOT_FOUND_MESSAGE}, status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: the refusal's own message (views write it for the analyst), in the layout."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exception or "") or FORBIDDEN_MESSAGE}, status=403)
    message = str(exception or "") or FORBIDDEN_MESSAGE
    return render(request, "403.html", {"status": 403, "message": message}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: rendered without the request, so no context processor runs and nothing touches
    the database, the session or the user (any of which may be what failed)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    try:
        body = loader.get_template("500.html").render({"status": 500})
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        logger.exception("the 500 page could not be rendered")
        body = BARE_SERVER_ERROR
    return HttpResponseServerError(body)
