"""The observables API: observables linked to the cases the user can see."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.filters import SearchFilter

from alerts.models import Observable
from alerts.selectors import visible_observables
from cases.api.pagination import NewestFirstCursorPagination


class ObservableSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    type = serializers.CharField(read_only=True)
    value = serializers.CharField(read_only=True)
    first_seen = serializers.DateTimeField(read_only=True)


@extend_schema(tags=["cases"])
class ObservableViewSet(viewsets.ReadOnlyModelViewSet):
    """Observables linked to the cases you can see."""

    serializer_class = ObservableSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_fields = ["type"]
    search_fields = ["value"]
    queryset = Observable.objects.none()

    def get_queryset(self) -> QuerySet[Observable]:
        return visible_observables(self.request.user)
