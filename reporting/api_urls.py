"""Included under /api/v1/ by soar/urls.py."""

from django.urls import path

from reporting import views

urlpatterns = [
    path("reports/summary", views.ReportSummaryView.as_view(), name="api-reports-summary"),
]
