from django.urls import path, re_path

from reporting import views, views_case_report
from reporting.views_attack import attack_matrix_page  # issue 18: ATT&CK matrix

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("attack/", attack_matrix_page, name="attack_matrix"),  # issue 18
    re_path(r"^export/(?P<kind>cases|alerts|audit|verdicts)\.(?P<fmt>csv|json)$", views.ExportView.as_view(),
            name="export"),
]

# The case report sits beside the case page: soar/urls.py mounts these under /cases/ (namespace
# "case_report"), before the cases app's own URLs.
case_report_urlpatterns = [
    path("<int:pk>/report/", views_case_report.case_report_page, name="html"),
    path("<int:pk>/report.pdf", views_case_report.case_report_pdf, name="pdf"),
]
