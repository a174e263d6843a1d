from django.urls import path

from alerts.api import views

urlpatterns = [
    path("alerts", views.IngestAlertView.as_view(), name="api-ingest-alert"),
    path("alerts/batch", views.IngestBatchView.as_view(), name="api-ingest-batch"),
]
