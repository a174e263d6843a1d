from django.urls import path

from enrichment.api import views

urlpatterns = [
    path("enrichment/cases/<int:case_id>/run", views.RunCaseEnrichmentView.as_view(), name="enrichment-run-case"),
    path("cases/<int:case_id>/enrich", views.RunCaseEnrichmentView.as_view(), name="enrichment-case-enrich"),
    path("enrichment/results", views.ResultListView.as_view(), name="enrichment-results"),
    path("enrichment/observables/<int:observable_id>", views.ObservableEnrichmentView.as_view(),
         name="enrichment-observable"),
    path("enrichment/providers", views.ProviderListView.as_view(), name="enrichment-providers"),
]
