"""Admin: pull connectors are configured here; the secret is write-only (never rendered back,
blank keeps it) and the status fields are read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from connectors import services
from connectors.models import PullConnector
from connectors.selectors import current_lag_seconds
from soar.admin_utils import HideSecretsMixin, WriteOnlySecretFormMixin
from soar.errors import InvalidInput

STATUS_FIELDS = ("last_run_at", "last_success_at", "lag", "lag_seconds", "last_run_records", "records_fetched_total",
                 "records_rejected_total", "alerts_created_total", "consecutive_failures", "next_run_at",
                 "last_error", "last_warning", "lease_until")


class PullConnectorForm(WriteOnlySecretFormMixin, forms.ModelForm):
    secret_field = "secret"  # noqa: S105 - a form field's name, not a secret
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                             help_text="API key, token or password. Leave empty to keep the current one.")
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = PullConnector
        fields = ["name", "kind", "enabled", "endpoint", "username", "secret", "clear_secret", "query", "options",
                  "source", "interval_seconds", "page_size", "timeout_seconds", "cursor"]

    def clean(self):
        cleaned = super().clean()
        try:
            services.validate_connector(
                kind=cleaned.get("kind") or "", query=cleaned.get("query") or "",
                options=cleaned.get("options") if cleaned.get("options") is not None else {},
                endpoint=cleaned.get("endpoint") or "", interval_seconds=cleaned.get("interval_seconds") or 0,
                page_size=cleaned.get("page_size") or 0, timeout_seconds=cleaned.get("timeout_seconds") or 0,
                username=cleaned.get("username") or "",
                source_kind=cleaned["source"].kind if cleaned.get("source") is not None else None)
        except InvalidInput as exc:
            for field, problems in (exc.errors or {}).items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        if cleaned.get("cursor") is None:
            cleaned["cursor"] = {}
        return cleaned


def lag_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (no successful run yet)"
    if seconds < 1:
        return "caught up"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} behind"
    return f"{seconds:.0f} s behind"


@admin.register(PullConnector)
class PullConnectorAdmin(HideSecretsMixin, admin.ModelAdmin):
    secret_fields = ("secret", "clear_secret")
    form = PullConnectorForm
    list_display = ["name", "kind", "enabled", "source", "last_run_at", "last_success_at", "lag",
                    "records_fetched_total", "consecutive_failures", "short_error", "has_secret"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "endpoint"]
    readonly_fields = STATUS_FIELDS
    actions = ["run_now", "reset_cursor"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "source"]}),
        ("Endpoint", {"fields": ["endpoint", "username", "secret", "clear_secret", "timeout_seconds"]}),
        ("Query", {"fields": ["query", "options", "interval_seconds", "page_size", "cursor"]}),
        ("Status", {"fields": list(STATUS_FIELDS)}),
    ]

    @admin.display(boolean=True, description="secret set")
    def has_secret(self, obj: PullConnector) -> bool:
        return bool(obj.secret)

    @admin.display(description="lag now")
    def lag(self, obj: PullConnector) -> str:
        """``soar_connector_lag_seconds``: the last run's lag, growing while runs fail."""
        return lag_text(current_lag_seconds(obj))

    @admin.display(description="last error")
    def short_error(self, obj: PullConnector) -> str:
        return obj.last_error[:120]

    @admin.action(description="Run now (one page; clears the back-off)")
    def run_now(self, request: HttpRequest, queryset: QuerySet[PullConnector]) -> None:
        queued = sum(1 for pk in queryset.filter(enabled=True).values_list("pk", flat=True)
                     if services.queue_run_now(pk))
        self.message_user(request, f"{queued} connector run(s) queued.", messages.SUCCESS)

    @admin.action(description="Start again from the beginning (reset the cursor)")
    def reset_cursor(self, request: HttpRequest, queryset: QuerySet[PullConnector]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            services.reset_cursor(pk)
        self.message_user(request, "Cursor reset: alerts already stored count as re-sends.", messages.SUCCESS)
