from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reporting import views as reporting_views
from reporting.urls import case_report_urlpatterns
from soar import views
from soar.security import ThrottledLoginView, throttled_admin_login

handler403 = "soar.views.forbidden"
handler404 = "soar.views.not_found"
handler500 = "soar.views.server_error"

urlpatterns = [
    # Before admin.site.urls: the admin's log-in answers 429 while throttled, as /login/ does.
    path("admin/login/", throttled_admin_login, name="admin-login-throttled"),
    path("admin/", admin.site.urls),
    # Ingestion first: POST /api/v1/alerts is the webhook.
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/v1/", include("enrichment.api.urls")),
    path("api/v1/", include("evidence.api.urls")),
    path("api/v1/", include("playbooks.api.urls")),
    path("api/v1/", include("reporting.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", reporting_views.metrics_view, name="prometheus-django-metrics"),
    path("login/", ThrottledLoginView.as_view(), name="login"),  # before auth.urls: failures are throttled
    path("", include("django.contrib.auth.urls")),
    path("enrichment/", include("enrichment.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("reports/", include("reporting.urls")),
    path("alerts/", include("alerts.urls")),
    path("observables/", include("alerts.urls_observables")),
    path("evidence/", include("evidence.urls")),
    path("search/", include("search.urls")),
    # --- case report (issue 18): /cases/<id>/report/ and /cases/<id>/report.pdf, beside the case page ---
    path("cases/", include((case_report_urlpatterns, "case_report"))),
    path("", include("cases.urls")),
]
