"""Included under /api/v1/ by soar/urls.py."""

from django.urls import path

from reporting import views, views_case_report

urlpatterns = [
    path("reports/summary", views.ReportSummaryView.as_view(), name="api-reports-summary"),
    path("cases/<int:case_id>/report", views_case_report.CaseReportView.as_view(), name="api-case-report"),
]
