"""Case tasks API: /cases/{id}/tasks (list, add) and /tasks/{id} (read, PATCH). Visibility as
for notes: the case's team (and shares) change, auditors read only, other teams get 404. Writes
go through cases.tasks (timeline + audit)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors, services, task_selectors
from cases import tasks as task_services
from cases.api.permissions import ReadOnlyForAuditors
from cases.api.task_serializers import TaskCreateSerializer, TaskSerializer, TaskUpdateSerializer
from cases.models import CaseTask


def _assignee(data: dict[str, Any]) -> dict[str, Any]:
    """The validated fields with ``assignee`` (a username) turned into a user (400 if unknown)."""
    if "assignee" not in data:
        return data
    name = data["assignee"]
    user = services.find_user(name) if name else None
    if name and user is None:
        raise exceptions.ValidationError({"assignee": ["No such user."]})
    return {**data, "assignee": user}


class CaseTaskListView(APIView):
    permission_classes = [IsAuthenticated, ReadOnlyForAuditors]

    @extend_schema(responses=TaskSerializer(many=True), tags=["tasks"], summary="The case's tasks, in order")
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.get_visible_case(request.user, case_id)
        return Response(TaskSerializer(task_selectors.case_tasks(case), many=True).data)

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskSerializer}, tags=["tasks"],
                   summary="Add a task to the case (appended to its checklist)")
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.get_visible_case(request.user, case_id)
        serializer = TaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_services.add_task(case, actor=request.user, **_assignee(dict(serializer.validated_data)))
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["tasks"])
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks of the cases you can see (``?mine=1``: your open tasks, the most urgent first)."""

    serializer_class = TaskSerializer
    permission_classes = [IsAuthenticated, ReadOnlyForAuditors]
    queryset = CaseTask.objects.none()

    def get_queryset(self):
        user = self.request.user
        if self.request.query_params.get("mine"):
            return task_selectors.my_open_tasks(user).select_related("assignee", "completed_by")
        return task_selectors.visible_tasks(user).select_related("assignee", "completed_by").order_by("case_id",
                                                                                                       "position", "id")

    @extend_schema(request=TaskUpdateSerializer, responses=TaskSerializer,
                   summary="Change a task: status, assignee, notes, required, SLA, title, order")
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        serializer = TaskUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        task = task_services.update_task(task, actor=request.user, **_assignee(dict(serializer.validated_data)))
        return Response(TaskSerializer(task).data)
