"""The case report: /cases/<id>/report/ (printable HTML), /cases/<id>/report.pdf and the API's
/api/v1/cases/<id>/report?format=pdf|html. All three start from the cases the user may see (404
for any other, like the case page) and write one "case.report" audit entry per download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from cases.api.authentication import USER_AUTHENTICATION
from reporting.case_report import FORMATS, CaseReport, build_case_report
from reporting.case_report_services import record_report_download
from reporting.pdf import html_to_pdf

TEMPLATE = "reporting/case_report.html"


def report_html(report: CaseReport, request: HttpRequest) -> str:
    return render_to_string(TEMPLATE, {"report": report}, request=request)


def report_response(report: CaseReport, fmt: str, request: HttpRequest) -> HttpResponse:
    """The HTML page, or the PDF as an attachment with a safe name; audited either way."""
    html = report_html(report, request)
    if fmt == "html":
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
    else:
        response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, f"{report.file_stem}.pdf")
        response["X-Content-Type-Options"] = "nosniff"
    # Audited once the report exists: a rendering failure is no download.
    record_report_download(report.case, fmt, actor=request.user)
    # A report holds TLP-marked case data: not for shared caches, nor kept by the browser.
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def case_report_page(request: HttpRequest, pk: int) -> HttpResponse:
    return report_response(build_case_report(request.user, pk), "html", request)


@require_GET
@login_required
def case_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return report_response(build_case_report(request.user, pk), "pdf", request)


class ReportFormatSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS, default="pdf",
                                     help_text="pdf (an attachment) or html (the printable page).")


class IgnoreFormatNegotiation(BaseContentNegotiation):
    """``?format=`` chooses the report's format here, not a DRF renderer: without this DRF would
    answer ?format=pdf with a 404 (no such renderer). Errors are JSON, the report is not."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CaseReportView(APIView):
    """The case report as a PDF (default) or as HTML; 404 for a case you may not see."""

    authentication_classes = USER_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatNegotiation

    @extend_schema(
        summary="The case report (PDF or printable HTML)", tags=["cases"],
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS), default="pdf",
                                     description="pdf: an attachment; html: the printable page")],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF"),
                   (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The printable HTML"),
                   400: OpenApiResponse(description="Field errors (format)"),
                   404: OpenApiResponse(description="No such case, or not one you may see")})
    def get(self, request, case_id: int):
        params = ReportFormatSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        report = build_case_report(request.user, case_id)
        return report_response(report, params.validated_data["format"], request)
