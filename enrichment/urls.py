from django.urls import path

from enrichment import views

app_name = "enrichment"
urlpatterns = [
    path("cases/<int:case_id>/run", views.run_case_enrichment, name="run_case"),
]
