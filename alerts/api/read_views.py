"""The user-facing alert API (session or user-token auth): list/read the alerts you can
see, promote queued alerts to a case, attach alerts to a case. GET /api/v1/alerts shares
its path with the ingestion webhook (POST, source-token auth)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import queue_actions
from alerts.api import read_serializers as s
from alerts.api.views import IngestAlertView
from alerts.filtersets import AlertFilter
from alerts.models import Alert
from alerts.selectors import visible_alerts
from cases.api.authentication import USER_AUTHENTICATION
from cases.api.pagination import NewestFirstCursorPagination

USER_AUTH = USER_AUTHENTICATION


class AlertReadMixin(GenericAPIView):
    authentication_classes = USER_AUTH
    permission_classes = [IsAuthenticated]
    filter_backends = [DjangoFilterBackend, OrderingFilter, SearchFilter]
    filterset_class = AlertFilter
    ordering_fields = ["id", "received_at"]
    search_fields = ["title", "entity_value"]
    pagination_class = NewestFirstCursorPagination
    queryset = Alert.objects.none()

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = visible_alerts(self.request.user).select_related("source")
        return alerts.prefetch_related("observables") if getattr(self, "action", "") == "retrieve" else alerts


class AlertCollectionView(IngestAlertView, AlertReadMixin, mixins.ListModelMixin, GenericAPIView):
    """POST: the ingestion webhook (unchanged). GET: the alerts visible to the signed-in user."""

    serializer_class = s.AlertListSerializer

    def _is_ingest(self) -> bool:
        return getattr(getattr(self, "request", None), "method", "") == "POST"

    def get_authenticators(self):
        return [] if self._is_ingest() else [auth() for auth in USER_AUTH]

    def get_permissions(self):
        return [] if self._is_ingest() else [IsAuthenticated()]

    @extend_schema(summary="Alerts visible to you (filters, cursor pagination)", tags=["alerts"],
                   responses=s.AlertListSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


@extend_schema(tags=["alerts"])
class AlertViewSet(AlertReadMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.AlertDetailSerializer


class _QueueActionView(APIView):
    """Refusals (alerts.queue_actions.QueueActionError) are answered by their kind (soar.api)."""

    authentication_classes = USER_AUTH
    permission_classes = [IsAuthenticated]

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The request body checked by ``serializer_class`` (a 400 with field errors otherwise)."""
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class PromoteAlertsView(_QueueActionView):
    @extend_schema(request=s.PromoteSerializer, responses={201: s.AlertActionResultSerializer}, tags=["alerts"],
                   summary="Open a case from queued alerts")
    def post(self, request):
        data = self.validated(s.PromoteSerializer)
        case_id, count = queue_actions.promote(request.user, data["alert_ids"], team_id=data["team"],
                                               title=data["title"])
        return Response({"case_id": case_id, "alerts": count}, status=status.HTTP_201_CREATED)


class AttachAlertsView(_QueueActionView):
    @extend_schema(request=s.AttachSerializer, responses=s.AlertActionResultSerializer, tags=["alerts"],
                   summary="Attach alerts to a case you can change")
    def post(self, request):
        data = self.validated(s.AttachSerializer)
        case_id, count = queue_actions.attach(request.user, data["alert_ids"], data["case_id"])
        return Response({"case_id": case_id, "alerts": count})


class DismissAlertsView(_QueueActionView):
    @extend_schema(request=s.DismissSerializer, responses=s.AlertCountSerializer, tags=["alerts"],
                   summary="Dismiss queued alerts with a reason (alerts in a case are skipped)")
    def post(self, request):
        data = self.validated(s.DismissSerializer)
        return Response({"alerts": queue_actions.dismiss(request.user, data["alert_ids"], data["reason"])})


class RestoreAlertsView(_QueueActionView):
    @extend_schema(request=s.RestoreSerializer, responses=s.AlertCountSerializer, tags=["alerts"],
                   summary="Put dismissed alerts back in the queue")
    def post(self, request):
        data = self.validated(s.RestoreSerializer)
        return Response({"alerts": queue_actions.restore(request.user, data["alert_ids"])})
