from django.urls import re_path
from rest_framework.routers import SimpleRouter

from cases.api import task_views, views

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/cases and /api/v1/cases/ both answer (no redirect for POSTs)
router.register("cases", views.CaseViewSet, basename="api-case")
router.register("notes", views.NoteViewSet, basename="api-note")
router.register("timeline", views.TimelineViewSet, basename="api-timeline")
router.register("tags", views.TagViewSet, basename="api-tag")
router.register("resolutions", views.ResolutionViewSet, basename="api-resolution")
router.register("audit-log", views.AuditLogViewSet, basename="api-audit-log")
router.register("tasks", task_views.TaskViewSet, basename="api-task")

urlpatterns = [
    re_path(r"^cases/(?P<case_id>[0-9]+)/tasks/?$", task_views.CaseTaskListView.as_view(), name="api-case-tasks"),
    *router.urls,
]
