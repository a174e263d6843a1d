from django import forms
from django.contrib import admin

from enrichment.models import (
    Asset,
    BlocklistEntry,
    EnrichmentRequest,
    EnrichmentResult,
    EnrichmentRule,
    Indicator,
    ProviderConfig,
)
from enrichment.providers.registry import provider_choices
from soar.admin_utils import HideSecretsMixin, WriteOnlySecretFormMixin


class ProviderConfigForm(WriteOnlySecretFormMixin, forms.ModelForm):
    secret_field = "api_key"  # noqa: S105 - a form field's name, not a secret
    # The key is write-only: never rendered back into the page; blank keeps the stored one.
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Leave blank to keep the current key. Tick 'clear API key' to remove it.")
    clear_api_key = forms.BooleanField(required=False, label="Clear API key")

    class Meta:
        model = ProviderConfig
        fields = ["provider", "enabled", "api_key", "clear_api_key", "base_url", "timeout_seconds",
                  "rate_limit_per_minute", "cache_ttl_seconds", "max_retries", "options"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"] = forms.ChoiceField(choices=provider_choices())

    def clean_timeout_seconds(self):
        value = self.cleaned_data["timeout_seconds"]
        if not 0 < value <= 120:
            raise forms.ValidationError("Between 0 and 120 seconds.")
        return value

    def clean_options(self):
        value = self.cleaned_data.get("options") or {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Options must be a JSON object.")
        return value


@admin.register(ProviderConfig)
class ProviderConfigAdmin(HideSecretsMixin, admin.ModelAdmin):
    secret_fields = ("api_key", "clear_api_key")
    form = ProviderConfigForm
    list_display = ["provider", "enabled", "base_url", "timeout_seconds", "rate_limit_per_minute",
                    "cache_ttl_seconds", "has_api_key", "updated_at"]
    list_filter = ["enabled"]

    @admin.display(boolean=True, description="API key set")
    def has_api_key(self, obj):
        return bool(obj.api_key)


@admin.register(EnrichmentResult)
class EnrichmentResultAdmin(admin.ModelAdmin):
    list_display = ["fetched_at", "provider", "observable", "verdict", "score", "case", "from_cache", "failed"]
    list_filter = ["provider", "verdict", "from_cache"]
    search_fields = ["observable__value", "summary", "error"]
    raw_id_fields = ["case", "observable"]
    readonly_fields = [f.name for f in EnrichmentResult._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True)
    def failed(self, obj):
        return obj.failed


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["type", "value", "verdict", "confidence", "source", "valid_until"]
    list_filter = ["type", "verdict", "source"]
    search_fields = ["value", "description", "external_id"]


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(admin.ModelAdmin):
    list_display = ["list_name", "obs_type", "value", "reason", "added_by", "created_at", "expires_at"]
    list_filter = ["list_name", "obs_type"]
    search_fields = ["value", "reason"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["kind", "name", "owner", "department", "criticality", "os", "vip", "ip_address"]
    list_filter = ["kind", "criticality", "vip", "department"]
    search_fields = ["name", "owner", "email", "department"]


@admin.register(EnrichmentRule)
class EnrichmentRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "verdict", "provider", "observable_type", "min_score", "raise_severity_to",
                    "raise_confidence_to"]
    list_filter = ["enabled", "verdict"]


@admin.register(EnrichmentRequest)
class EnrichmentRequestAdmin(admin.ModelAdmin):
    """Automatic enrichment owed to cases; open ones past SOAR_FOLLOW_UP_MAX_ATTEMPTS need a look."""

    list_display = ["id", "case", "reason", "created_at", "queued_at", "attempts", "lease_until", "done_at"]
    list_filter = ["reason", ("done_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["case"]
    readonly_fields = [f.name for f in EnrichmentRequest._meta.fields]

    def has_add_permission(self, request):
        return False
