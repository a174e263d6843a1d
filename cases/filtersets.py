"""Case and audit-log filters shared by the queue page, the API and the exports (django-filter)."""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases import custom_fields
from cases.models import SEVERITY_CHOICES, AuditLog, Case, CustomFieldDefinition, Note
from cases.selectors import sla_breached_q
from soar.filters import MAX_ID, UtcIsoDateTimeFilter


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), dt.UTC)


def case_text_q(value: str) -> Q:
    """Cases whose title, description, a note, an observable or an alert's entity contains
    ``value`` (any case), or whose number it is.

    The other tables' matches are one ``id IN (... UNION ...)`` (each branch through its own
    index: on PostgreSQL a trigram index per column, search/migrations/0001), so no join
    multiplies the cases. It is OR-ed with the case's own title and description: PostgreSQL then
    builds that set once as a hashed subplan and walks the cases in the page's order, stopping
    at the page, instead of hash-joining every match before sorting them. Measured at 100,000
    cases (bench/results.md, runs of 2026-12-01 20:19-20:23): a word in 50,000 notes 243 -> 150 ms in-process
    for the whole queue page; a rare IP 35 -> 82 ms (every visible case's title is tested)."""
    # The case <-> observable table (declared by alerts.Observable, read here without its model).
    observables = Case.observables.through.objects.filter(observable__value__icontains=value)
    elsewhere = Note.objects.filter(body__icontains=value).order_by().values("case_id").union(
        observables.order_by().values("case_id"),
        Case.objects.filter(alerts__entity_value__icontains=value).order_by().values("pk"))
    query = Q(title__icontains=value) | Q(description__icontains=value) | Q(pk__in=elsewhere)
    number = value.lstrip("#")
    if number.isdigit() and len(number) < 18:
        query |= Q(pk=int(number))
    return query


def custom_field_filter(definition: CustomFieldDefinition) -> filters.Filter:
    """The ``cf_<key>`` filter of one definition: its form field parses the value by type (a
    bad number or date is a 400 with the field's error), then an exact match."""
    common = {"method": "filter_custom_field", "label": f"{definition.label} (custom field)",
              "field_name": f"{custom_fields.FILTER_PREFIX}{definition.key}"}
    kind = CustomFieldDefinition.Type
    if definition.type == kind.NUMBER:
        return filters.NumberFilter(**common)
    if definition.type == kind.DATE:
        return filters.DateFilter(**common)
    if definition.type == kind.BOOLEAN:
        return filters.ChoiceFilter(**common, choices=[("true", "yes"), ("false", "no")])
    if definition.type == kind.CHOICE:
        return filters.ChoiceFilter(**common, choices=[(choice, choice) for choice in definition.choices or []])
    return filters.CharFilter(**common, max_length=custom_fields.MAX_STRING_LENGTH)


class CaseFilter(filters.FilterSet):
    """The case filters; plus, per active custom field definition, ``cf_<key>=<value>``."""

    # Columns of the case itself: no join, no duplicate rows, so no DISTINCT (django-filter's default
    # for multiple choices), which made PostgreSQL sort every open case of 100,000 by all its columns
    # before the first page (510 ms, and as long again for the page count).
    status = filters.MultipleChoiceFilter(choices=Case.Status.choices, distinct=False)
    severity = filters.MultipleChoiceFilter(choices=SEVERITY_CHOICES, distinct=False)
    assignee = filters.CharFilter(method="filter_assignee", label="Assignee",
                                  help_text="User id or username, `me`, or `none` for unassigned.")
    team = filters.NumberFilter(field_name="team_id", label="Team id")
    tag = filters.CharFilter(field_name="tags__name", label="Tag name")
    q = filters.CharFilter(method="filter_text", label="Text",
                           help_text="Text in the title, description, notes, observables or alert entities, "
                                     "or a case number.")
    created_after = filters.DateFilter(method="filter_created_after", label="Created on or after (YYYY-MM-DD)")
    created_before = filters.DateFilter(method="filter_created_before", label="Created on or before (YYYY-MM-DD)")
    sla = filters.ChoiceFilter(choices=[("breached", "Breached"), ("ok", "Within SLA")], method="filter_sla",
                               label="SLA")
    is_open = filters.BooleanFilter(method="filter_open", label="Open (new, triaged or in progress)")

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_field_types: dict[str, str] = {}
        # The definitions are read only when a cf_ parameter is given: the queue and the API
        # without one cost no extra query.
        if not any(str(key).startswith(custom_fields.FILTER_PREFIX) for key in self.data):
            return
        for definition in custom_fields.active_definitions():
            name = f"{custom_fields.FILTER_PREFIX}{definition.key}"
            self.filters[name] = custom_field_filter(definition)
            self.filters[name].model = self.queryset.model
            self.filters[name].parent = self
            self.custom_field_types[name] = definition.type

    def filter_custom_field(self, queryset, name, value):
        if value in (None, ""):
            return queryset
        key = name.removeprefix(custom_fields.FILTER_PREFIX)
        try:
            stored = custom_fields.coerce(self.custom_field_types[name], value)
        except ValueError:  # the form field parsed it already; a value it let through matches nothing
            return queryset.none()
        return queryset.filter(custom_fields.custom_field_q(key, stored))

    def filter_assignee(self, queryset, name, value):
        value = value.strip()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=getattr(user, "pk", None))
        if value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset.filter(assignee__username=value) if value else queryset

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(case_text_q(value)) if value else queryset

    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of_day(value))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of_day(value + dt.timedelta(days=1)))

    def filter_sla(self, queryset, name, value):
        breached = sla_breached_q()
        return queryset.filter(breached) if value == "breached" else queryset.exclude(breached)

    def filter_open(self, queryset, name, value):
        statuses = list(Case.OPEN_STATUSES)
        return queryset.filter(status__in=statuses) if value else queryset.exclude(status__in=statuses)


class AuditLogFilter(filters.FilterSet):
    """The audit-log API's filters, for the audit-log export."""

    action = filters.CharFilter()
    object_type = filters.CharFilter()
    object_id = filters.CharFilter()
    actor = filters.NumberFilter(field_name="actor_id", min_value=0, max_value=MAX_ID)
    created_at__gte = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at__lte = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    search = filters.CharFilter(method="filter_text")

    class Meta:
        model = AuditLog
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet[AuditLog], name: str, value: str) -> QuerySet[AuditLog]:
        value = value.strip()
        return queryset.filter(Q(object_repr__icontains=value) | Q(request_id=value)) if value else queryset
