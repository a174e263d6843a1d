"""The alert list's filters: one set for the API, the alert queue page and the exports."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet

from alerts.models import SEVERITY_CHOICES, Alert
from soar.filters import MAX_ID, UtcIsoDateTimeFilter


class AlertFilter(filters.FilterSet):
    """The alert API's query parameters (its free-text ``search`` is DRF's SearchFilter)."""

    status = filters.MultipleChoiceFilter(choices=Alert.Status.choices)
    severity = filters.MultipleChoiceFilter(choices=SEVERITY_CHOICES)
    source = filters.CharFilter(field_name="source__name")
    case = filters.NumberFilter(field_name="case_id", min_value=0, max_value=MAX_ID)
    entity = filters.CharFilter(field_name="entity_value")
    received_after = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UtcIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields: list[str] = []


class AlertExportFilter(AlertFilter):
    """The same filters for an export, plus the page's ``q`` and the API's ``search`` (an export
    has no SearchFilter backend)."""

    q = filters.CharFilter(method="filter_text", label="Text in the title or entity")
    search = filters.CharFilter(method="filter_text", label="Same as q (the API's name)")

    def filter_text(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(entity_value__icontains=value)) if value else queryset
