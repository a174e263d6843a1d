from django.urls import path

from playbooks import views, views_live

app_name = "playbooks"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("badges", views_live.nav_badges, name="nav_badges"),
    path("validate", views.validate_definition, name="validate"),
    path("approvals/<int:pk>/decide", views.decide, name="decide"),
    path("cases/<int:case_id>/run", views.run_on_case, name="run_on_case"),
    path("cases/<int:case_id>/panel", views.case_panel, name="case_panel"),
    path("feeds/<str:list_name>.txt", views.feed_text, name="feed_text"),
    path("feeds/<str:list_name>.json", views.feed_json, name="feed_json"),
]
