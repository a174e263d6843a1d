from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from alerts.api import case_observables, observables, read_views, views

router = SimpleRouter()
router.trailing_slash = "/?"  # as the cases API: /api/v1/observables and /api/v1/observables/
router.register("observables", observables.ObservableViewSet, basename="api-observable")

urlpatterns: list[URLPattern | URLResolver] = [
    # POST = ingestion webhook (source token); GET = alerts visible to the user (read_views).
    path("alerts", read_views.AlertCollectionView.as_view(), name="api-ingest-alert"),
    path("alerts/batch", views.IngestBatchView.as_view(), name="api-ingest-batch"),
    path("alerts/promote", read_views.PromoteAlertsView.as_view(), name="api-alerts-promote"),
    path("alerts/attach", read_views.AttachAlertsView.as_view(), name="api-alerts-attach"),
    path("alerts/dismiss", read_views.DismissAlertsView.as_view(), name="api-alerts-dismiss"),
    path("alerts/restore", read_views.RestoreAlertsView.as_view(), name="api-alerts-restore"),
    path("alerts/<int:pk>", read_views.AlertViewSet.as_view({"get": "retrieve"}), name="api-alert-detail"),
    path("cases/<int:case_id>/observables", case_observables.CaseObservableListView.as_view(),
         name="api-case-observables"),
    path("cases/<int:case_id>/observables/<int:observable_id>", case_observables.CaseObservableDetailView.as_view(),
         name="api-case-observable"),
]

urlpatterns += router.urls
