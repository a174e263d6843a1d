"""Query-string filters shared by the APIs."""

from datetime import UTC, datetime
from typing import Any

import django_filters as filters
from django import forms
from django.db import models
from django_filters import rest_framework as rest_framework_filters
from django_filters.fields import IsoDateTimeField

# The largest bigint: a larger id in a query string is a 400, not a database error.
MAX_ID = 2**63 - 1

class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 date-time, compared in UTC. Python parses UTC offsets up to ±23:59 and years
    1-9999 that PostgreSQL refuses (offsets beyond ±15:59): without the conversion such a
    query string was a 500. A date-time that has no UTC equivalent is a 400."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Enter a date-time between years 1 and 9999 in UTC.", code="invalid")


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class FilterSet(rest_framework_filters.FilterSet):
    """Auto-generated filters (``filterset_fields``) compare date-times in UTC too."""

    FILTER_DEFAULTS = {**rest_framework_filters.FilterSet.FILTER_DEFAULTS,
                       models.DateTimeField: {"filter_class": UtcIsoDateTimeFilter}}


class FilterBackend(rest_framework_filters.DjangoFilterBackend):
    filterset_base = FilterSet
