from django.urls import path, re_path

from reporting import views
from reporting.views_attack import attack_matrix_page  # issue 18: ATT&CK matrix

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("attack/", attack_matrix_page, name="attack_matrix"),  # issue 18
    re_path(r"^export/(?P<kind>cases|alerts|audit|verdicts)\.(?P<fmt>csv|json)$", views.ExportView.as_view(),
            name="export"),
]
