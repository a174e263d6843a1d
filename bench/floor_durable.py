"""The durable floor for the single-alert benchmark: a bare DRF endpoint (no middleware, no
authentication, no validation beyond JSON) that stores each request's body with one prepared
``INSERT ... ON CONFLICT ... RETURNING`` into a minimal table (``bench_floor``, created by the
benchmark) on the bench database, in autocommit, and answers 202; served by the same gunicorn
settings as the product. Between bench/floor.py (no write) and the product, it is the cost of
one durable write per request: what the product adds beyond it (authentication, validation,
normalization, the alerts table's indexes and triggers, the outbox) is what the ratio measures."""

import os
import threading

import psycopg
from psycopg.types.json import Jsonb

from bench import bare_django

bare_django.configure(__name__)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

TABLE_SQL = ("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, dedup_key text UNIQUE, "
             "n integer NOT NULL DEFAULT 1, body jsonb NOT NULL, received_at timestamptz NOT NULL)")
INSERT_SQL = ("INSERT INTO bench_floor (dedup_key, body, received_at) VALUES (%s, %s, now()) "
              "ON CONFLICT (dedup_key) DO UPDATE SET n = bench_floor.n + 1 RETURNING id, n")
_local = threading.local()


def connection() -> psycopg.Connection:
    """One connection per gunicorn thread, kept (as the product's SOAR_DB_CONN_MAX_AGE)."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, prepare_threshold=0)
        _local.conn = conn
    return conn


class DurableFloor(APIView):
    def post(self, request):
        body = request.data
        key = body.get("source_ref") if isinstance(body, dict) else None
        row_id, n = connection().execute(INSERT_SQL, [key, Jsonb(body)], prepare=True).fetchone()
        return Response({"accepted": 1, "alerts": [{"id": row_id, "duplicate": n > 1}]}, status=202)


def healthz(request):
    from django.http import JsonResponse

    return JsonResponse({"status": "ok"})


urlpatterns = [path("api/v1/alerts", DurableFloor.as_view()), path("healthz", healthz)]
application = get_wsgi_application()
