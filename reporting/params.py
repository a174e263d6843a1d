"""The report range and team, read from query parameters (dashboard page, JSON API, e-mail).

``days`` (1-366, default 30) counts back from now; ``from``/``to`` (YYYY-MM-DD, both
inclusive, UTC) replace it when given. ``team`` is a team id or slug."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from cases.selectors import find_team, teams_for
from reporting.selectors import ReportScope

DEFAULT_DAYS = 30
MAX_DAYS = 366
PRESET_DAYS = (7, 30, 90)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class ReportParamsSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DAYS, default=DEFAULT_DAYS,
                                    help_text="Length of the range ending now, in days (ignored with from/to).")
    team = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text="Team id or slug; empty for every team you can see.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so these two cannot be class attributes.
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="First day (UTC), YYYY-MM-DD.")
        fields["to"] = serializers.DateField(required=False, help_text="Last day (UTC, inclusive), YYYY-MM-DD.")
        return fields

    def validate_team(self, value: str) -> str:
        """With a ``user`` in the context, a team that user cannot see is as unknown as one that
        does not exist: its name must not reach the page's heading or the API's answer."""
        if not value.strip():
            return ""
        team = find_team(value)
        user = self.context.get("user")
        if team is None or ("user" in self.context and not teams_for(user).filter(pk=team.pk).exists()):
            raise serializers.ValidationError("Unknown team.")
        return value.strip()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if (start is None) != (end is None):
            missing = "to" if end is None else "from"
            raise serializers.ValidationError({missing: "Give both from and to, or neither."})
        if start is not None:
            if start > end:
                raise serializers.ValidationError({"to": "Must be on or after from."})
            if (end - start).days + 1 > MAX_DAYS:
                raise serializers.ValidationError({"to": f"The range is at most {MAX_DAYS} days."})
        return attrs

    def scope(self, now: dt.datetime | None = None) -> ReportScope:
        data = self.validated_data
        team = find_team(data.get("team", ""))
        if data.get("from") is not None:
            return ReportScope(start=_day_start(data["from"]), end=_day_start(data["to"] + dt.timedelta(days=1)),
                               team=team)
        return ReportScope.last_days(data["days"], team=team, now=now or timezone.now())


def range_page(user: Any, query: Any) -> tuple[ReportScope, dict[str, Any]]:
    """The range and team of a report page (dashboard, ATT&CK matrix) from its query string:
    the scope, and the context of templates/reporting/_range_filters.html. Bad parameters fall
    back to the defaults; their field errors are in ``context["errors"]`` for the page to show."""
    params = ReportParamsSerializer(data=query, context={"user": user})
    errors: dict[str, Any] = {}
    if not params.is_valid():
        errors = dict(params.errors)
        params = ReportParamsSerializer(data={})
        params.is_valid()
    scope = params.scope()
    chosen = params.validated_data
    return scope, {
        "scope": scope,
        "errors": errors,
        "presets": PRESET_DAYS,
        "days": None if chosen.get("from") else chosen["days"],
        "date_from": chosen.get("from"),
        "date_to": chosen.get("to"),
        "team_param": chosen.get("team", ""),
        "teams": list(teams_for(user)),
    }
