"""The dashboard page, its JSON API, the exports and the protected /metrics endpoint."""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import ipaddress
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import roles
from cases.api.authentication import USER_AUTHENTICATION
from reporting import exports, formatting, metrics
from reporting.params import ReportParamsSerializer, range_page
from reporting.selectors import cached_report_summary

USER_AUTH = USER_AUTHENTICATION


def _export_queries(scope) -> dict[str, str]:
    """The dashboard's range and team as the lists' filter parameters, for its export links."""
    first_day, last_day = scope.start.date(), (scope.end - dt.timedelta(microseconds=1)).date()
    cases = {"created_after": first_day.isoformat(), "created_before": last_day.isoformat()}
    if scope.team is not None:
        cases["team"] = scope.team.pk
    alerts = {"received_after": scope.start.isoformat(), "received_before": scope.end.isoformat()}
    audit = {"created_at__gte": scope.start.isoformat(), "created_at__lte": scope.end.isoformat()}
    report = {"from": first_day.isoformat(), "to": last_day.isoformat()}
    if scope.team is not None:
        report["team"] = scope.team.slug
    return {"cases": urlencode(cases), "alerts": urlencode(alerts), "audit": urlencode(audit),
            "report": urlencode(report)}


@require_GET
@login_required
def dashboard(request):
    scope, context = range_page(request.user, request.GET)
    context.update(formatting.figures_context(cached_report_summary(request.user, scope)))
    context["export_queries"] = _export_queries(scope)
    context["can_export_audit"] = roles.can_read_audit_log(request.user)
    return render(request, "reporting/dashboard.html", context)


class ReportSummaryView(APIView):
    """Every figure of the dashboard for the cases you can see."""

    authentication_classes = USER_AUTH
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Report figures (MTTA, MTTR, volumes, severities, SLA, top sources/entities, "
                           "automation rate, per team and per analyst)",
                   tags=["reports"], parameters=[ReportParamsSerializer],
                   responses={200: OpenApiResponse(description="The figures"),
                              400: OpenApiResponse(description="Field errors")})
    def get(self, request):
        params = ReportParamsSerializer(data=request.query_params, context={"user": request.user})
        params.is_valid(raise_exception=True)
        return Response(cached_report_summary(request.user, params.scope()))


class ExportView(APIView):
    """GET /reports/export/<cases|alerts|audit>.<csv|json> with the lists' filter parameters, and
    /reports/export/verdicts.<csv|json> with the dashboard's (days, or from/to, and team)."""

    authentication_classes = USER_AUTH
    permission_classes = [IsAuthenticated]
    builders = {
        "cases": exports.case_export_for,
        "alerts": exports.alert_export_for,
        "audit": exports.audit_export_for,
        "verdicts": exports.false_positive_export_for,
    }

    @extend_schema(exclude=True)
    def get(self, request, kind: str, fmt: str):
        if kind == "audit" and not roles.can_read_audit_log(request.user):
            raise exceptions.PermissionDenied("Only SOC leads, admins and auditors may export the audit log.")
        try:
            export = self.builders[kind](request.user, request.query_params, request)
        except exports.ExportFilterError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        return exports.streaming_response(export, fmt)


# --- /metrics ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _networks(allowlist: tuple[str, ...]):
    return tuple(ipaddress.ip_network(item, strict=False) for item in allowlist)


def _allowlisted(remote_addr: str) -> bool:
    raw = settings.SOAR_METRICS_ALLOWLIST
    items = tuple(raw) if isinstance(raw, (list, tuple)) else tuple(i.strip() for i in str(raw).split(",") if i.strip())
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%")[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(items))


def _token_ok(request) -> bool:
    expected = settings.SOAR_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].strip().encode(), expected.encode())


NOT_CONFIGURED = ("Forbidden: /metrics is closed until SOAR_METRICS_TOKEN (then send 'Authorization: Bearer "
                  "<token>') or SOAR_METRICS_ALLOWLIST (client networks) is set.\n")


def metrics_protected(view):
    """Allow a client in SOAR_METRICS_ALLOWLIST or one with ``Authorization: Bearer
    <SOAR_METRICS_TOKEN>``; 403 for everyone else. Nothing is allowed by default: a loopback
    default would open /metrics to the whole Internet behind a reverse proxy on the same host
    (every request then comes from 127.0.0.1)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (settings.SOAR_METRICS_TOKEN or settings.SOAR_METRICS_ALLOWLIST):
            return HttpResponseForbidden(NOT_CONFIGURED, content_type="text/plain")
        if not (_token_ok(request) or _allowlisted(request.META.get("REMOTE_ADDR", ""))):
            return HttpResponseForbidden("Forbidden: /metrics needs an allowlisted address or the metrics token.\n",
                                         content_type="text/plain")
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@metrics_protected
def metrics_view(request):
    """django-prometheus's exporter, plus the product metrics (see reporting.metrics)."""
    metrics.register_collector()
    response = ExportToDjangoView(request)
    extra = metrics.multiprocess_extra()
    if extra:
        response = HttpResponse(response.content + extra, content_type=response["Content-Type"])
    response["Cache-Control"] = "no-store"
    return response

