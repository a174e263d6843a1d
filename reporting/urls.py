from django.urls import path, re_path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    re_path(r"^export/(?P<kind>cases|alerts|audit|verdicts)\.(?P<fmt>csv|json)$", views.ExportView.as_view(),
            name="export"),
]
