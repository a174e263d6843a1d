"""The framework floor for the ingestion benchmark: a bare DRF endpoint that reads the same
JSON body and answers 202, served by the same gunicorn settings as the product. Whatever the
product does on top of this (auth, validation, normalization, the insert, the publish) is
what the ratio measures."""

from bench import bare_django

bare_django.configure(__name__)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class Floor(APIView):
    def post(self, request):
        return Response({"accepted": 1, "alerts": [{"id": 1, "duplicate": False}]}, status=202,
                        headers={"X-Items": str(len(request.data))})


def healthz(request):
    from django.http import JsonResponse

    return JsonResponse({"status": "ok"})


urlpatterns = [path("api/v1/alerts", Floor.as_view()), path("healthz", healthz)]
application = get_wsgi_application()
