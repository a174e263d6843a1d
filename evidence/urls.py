from django.urls import path

from evidence import views

app_name = "evidence"
urlpatterns = [
    path("cases/<int:case_id>/upload", views.upload, name="upload"),
    path("<int:evidence_id>/download", views.download, name="download"),
]
