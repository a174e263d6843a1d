from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cases.reporting import views as reporting_views
from soar import views

urlpatterns = [
    path("admin/", admin.site.urls),
    # Ingestion first: POST /api/v1/alerts is the webhook.
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/v1/", include("enrichment.api.urls")),
    path("api/v1/", include("playbooks.api.urls")),
    path("api/v1/", include("cases.reporting.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", reporting_views.metrics_view, name="prometheus-django-metrics"),
    path("", include("django.contrib.auth.urls")),
    path("enrichment/", include("enrichment.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("reports/", include("cases.reporting.urls")),
    path("alerts/", include("alerts.urls")),
    path("", include("cases.urls")),
]
