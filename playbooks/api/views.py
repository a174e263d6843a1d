"""Playbooks API: playbooks (read; write for users with the model permissions), validation,
manual and dry runs on a case, runs with their steps, and approvals (approve/deny).

Refusals are the application's errors (soar/errors.py: an invalid definition, a refused run,
an approval that may not be answered...), answered by the project's exception handler."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.selectors import can_change_case, get_visible_case
from playbooks import selectors
from playbooks.api import serializers as s
from playbooks.models import Playbook, PlaybookRun
from playbooks.schema import parse_and_validate
from playbooks.services import approvals as approval_services
from playbooks.services.definitions import save_playbook
from playbooks.services.runs import start_run
from soar import errors


def _int_param(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit() or int(value) < 1:
        raise errors.InvalidInput("A valid integer is required.", field=name)
    return int(value)


class PlaybookPermission(DjangoModelPermissions):
    """Reading needs a login; creating/changing playbooks needs the model permissions."""

    perms_map = {**DjangoModelPermissions.perms_map, "GET": [], "HEAD": [], "OPTIONS": []}


def _save(request, playbook=None, partial=False):
    body = s.PlaybookWriteSerializer(data=request.data, partial=partial)
    body.is_valid(raise_exception=True)
    text = body.validated_data.get("definition") or playbook.definition_text
    return save_playbook(definition_text=text, playbook=playbook, enabled=body.validated_data.get("enabled"),
                         actor=request.user)


@extend_schema(parameters=[OpenApiParameter("trigger", str), OpenApiParameter("enabled", bool)])
class PlaybookListView(generics.ListCreateAPIView):
    serializer_class = s.PlaybookSerializer
    permission_classes = [IsAuthenticated, PlaybookPermission]
    filter_backends: list = []
    queryset = Playbook.objects.all()

    def get_queryset(self):
        playbooks = Playbook.objects.order_by("name")
        if self.request.query_params.get("trigger"):
            playbooks = playbooks.filter(trigger_type=self.request.query_params["trigger"])
        if self.request.query_params.get("enabled") in ("true", "false"):
            playbooks = playbooks.filter(enabled=self.request.query_params["enabled"] == "true")
        return playbooks

    @extend_schema(request=s.PlaybookWriteSerializer, responses={201: s.PlaybookSerializer})
    def post(self, request, *args, **kwargs):
        return Response(s.PlaybookSerializer(_save(request)).data, status=status.HTTP_201_CREATED)


class PlaybookDetailView(generics.RetrieveUpdateAPIView):
    serializer_class = s.PlaybookSerializer
    permission_classes = [IsAuthenticated, PlaybookPermission]
    queryset = Playbook.objects.all()
    http_method_names = ["get", "put", "patch", "head", "options"]

    @extend_schema(request=s.PlaybookWriteSerializer, responses={200: s.PlaybookSerializer})
    def put(self, request, *args, **kwargs):
        return Response(s.PlaybookSerializer(_save(request, self.get_object())).data)

    @extend_schema(request=s.PlaybookWriteSerializer, responses={200: s.PlaybookSerializer})
    def patch(self, request, *args, **kwargs):
        return Response(s.PlaybookSerializer(_save(request, self.get_object(), partial=True)).data)


class PlaybookVersionsView(generics.ListAPIView):
    serializer_class = s.PlaybookVersionSerializer
    filter_backends: list = []

    def get_queryset(self):
        playbook = get_object_or_404(Playbook, pk=self.kwargs["pk"])
        return playbook.versions.select_related("created_by").order_by("-version")


class ValidateView(APIView):
    @extend_schema(request=s.ValidateSerializer, responses={200: dict})
    def post(self, request):
        body = s.ValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        definition = parse_and_validate(body.validated_data["definition"])
        return Response({"valid": True, "definition": definition})


def _start(request, playbook_id: int, case_id: int, dry_run: bool) -> Response:
    case = get_visible_case(request.user, case_id)
    if not can_change_case(request.user, case):
        raise errors.NotAllowed("You may not change this case.")
    playbook = Playbook.objects.filter(pk=playbook_id).first()
    if playbook is None:
        raise errors.InvalidInput("No such playbook.", field="playbook")
    run = start_run(playbook, case, trigger="manual", started_by=request.user, dry_run=dry_run)
    run = selectors.runs_with_steps(PlaybookRun.objects.filter(pk=run.pk)).get()
    return Response(s.PlaybookRunSerializer(run, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class RunOnCaseView(APIView):
    """POST /cases/<id>/playbooks/run {playbook, dry_run}."""

    @extend_schema(request=s.RunOnCaseSerializer, responses={202: s.PlaybookRunSerializer})
    def post(self, request, case_id: int):
        body = s.RunOnCaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _start(request, body.validated_data["playbook"], case_id, body.validated_data["dry_run"])


class RunPlaybookView(APIView):
    """POST /playbooks/<id>/run {case, dry_run}."""

    @extend_schema(request=s.RunPlaybookSerializer, responses={202: s.PlaybookRunSerializer})
    def post(self, request, pk: int):
        body = s.RunPlaybookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        get_visible_case(request.user, body.validated_data["case"])
        if not Playbook.objects.filter(pk=pk).exists():
            raise errors.NotFound("No such playbook.")
        return _start(request, pk, body.validated_data["case"], body.validated_data["dry_run"])


@extend_schema(parameters=[OpenApiParameter("case", int), OpenApiParameter("status", str),
                           OpenApiParameter("playbook", int)])
class RunListView(generics.ListAPIView):
    serializer_class = s.PlaybookRunSerializer
    filter_backends: list = []

    def get_queryset(self):
        runs = selectors.visible_runs(self.request.user)
        case_id = _int_param(self.request, "case")
        if case_id is not None:
            runs = runs.filter(case=get_visible_case(self.request.user, case_id))
        playbook_id = _int_param(self.request, "playbook")
        if playbook_id is not None:
            runs = runs.filter(playbook_id=playbook_id)
        if self.request.query_params.get("status"):
            runs = runs.filter(status=self.request.query_params["status"])
        return selectors.runs_with_steps(runs).order_by("-created_at", "-id")


class RunDetailView(generics.RetrieveAPIView):
    serializer_class = s.PlaybookRunSerializer

    def get_queryset(self):
        return selectors.runs_with_steps(selectors.visible_runs(self.request.user))


@extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("mine", bool,
                           description="Only pending requests that I may answer")])
class ApprovalListView(generics.ListAPIView):
    serializer_class = s.ApprovalSerializer
    filter_backends: list = []

    def get_queryset(self):
        if self.request.query_params.get("mine") in ("1", "true"):
            return selectors.answerable_approvals(self.request.user)
        approvals = selectors.visible_approvals(self.request.user).order_by("-requested_at", "-id")
        if self.request.query_params.get("status"):
            approvals = approvals.filter(status=self.request.query_params["status"])
        return approvals


class ApprovalDetailView(generics.RetrieveAPIView):
    serializer_class = s.ApprovalSerializer

    def get_queryset(self):
        return selectors.visible_approvals(self.request.user)


class ApprovalDecisionView(APIView):
    approve = True

    @extend_schema(request=s.DecisionSerializer, responses={200: s.ApprovalSerializer})
    def post(self, request, pk: int):
        if not selectors.visible_approvals(request.user).filter(pk=pk).exists():
            raise errors.NotFound("No such approval request.")
        body = s.DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = approval_services.decide(pk, request.user, approve=self.approve,
                                            comment=body.validated_data["comment"])
        approval = selectors.visible_approvals(request.user).get(pk=approval.pk)
        return Response(s.ApprovalSerializer(approval, context={"request": request}).data)
