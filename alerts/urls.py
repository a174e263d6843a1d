from django.urls import path

from alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("promote", views.promote, name="promote"),
    path("attach", views.attach, name="attach"),
    path("dismiss", views.dismiss, name="dismiss"),
    path("restore", views.restore, name="restore"),
    path("<int:alert_id>/", views.detail, name="detail"),
]
