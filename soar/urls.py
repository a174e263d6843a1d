from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from soar import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("alerts.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("django.contrib.auth.urls")),
    path("", views.home, name="home"),
]
