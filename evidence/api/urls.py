from django.urls import path

from evidence.api import views

urlpatterns = [
    path("cases/<int:case_id>/evidence", views.CaseEvidenceView.as_view(), name="evidence-case"),
    path("evidence/<int:evidence_id>", views.EvidenceDetailView.as_view(), name="evidence-detail"),
    path("evidence/<int:evidence_id>/download", views.EvidenceDownloadView.as_view(), name="evidence-download"),
]
