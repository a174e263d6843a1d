from django import forms
from django.contrib import admin, messages

from alerts.adapters import adapter_choices
from alerts.models import Alert, AlertGroup, AlertSource, CorrelationRule, Observable, ObservableType
from cases.services import record_audit, snapshot
from soar.admin_utils import HideSecretsMixin, WriteOnlySecretFormMixin


class AlertSourceForm(WriteOnlySecretFormMixin, forms.ModelForm):
    secret_field = "hmac_secret"  # noqa: S105 - a form field's name, not a secret
    kind = forms.ChoiceField(choices=adapter_choices)

    class Meta:
        model = AlertSource
        fields = ["name", "kind", "description", "enabled", "default_team", "hmac_secret", "clear_hmac_secret"]
        widgets = {"hmac_secret": forms.PasswordInput(render_value=False)}
        help_texts = {"hmac_secret": "Leave blank to keep the stored secret; tick 'Clear' to remove it."}

    clear_hmac_secret = forms.BooleanField(required=False, label="Clear HMAC secret")


@admin.register(AlertSource)
class AlertSourceAdmin(HideSecretsMixin, admin.ModelAdmin):
    form = AlertSourceForm
    secret_fields = ("hmac_secret", "clear_hmac_secret")
    list_display = ["name", "kind", "enabled", "token_prefix", "signed", "default_team", "created_at"]
    list_filter = ["kind", "enabled", "default_team"]
    search_fields = ["name", "description"]
    actions = ["rotate_tokens"]

    @admin.display(boolean=True, description="HMAC")
    def signed(self, obj):
        return bool(obj.hmac_secret)

    def save_model(self, request, obj, form, change):
        token = None
        if not change:
            token = obj.rotate_token()
        super().save_model(request, obj, form, change)
        record_audit("source.update" if change else "source.create", obj, actor=request.user,
                     after=snapshot(obj, fields=["name", "kind", "enabled"]))
        if token:
            messages.warning(request, f"Token for '{obj.name}' (shown only now, store it safely): {token}")

    @admin.action(description="Rotate the token of the selected sources")
    def rotate_tokens(self, request, queryset):
        for source in queryset:
            token = source.rotate_token()
            source.save(update_fields=["token_hash", "token_prefix"])
            record_audit("source.rotate_token", source, actor=request.user)
            messages.warning(request, f"New token for '{source.name}' (shown only now): {token}")


@admin.register(CorrelationRule)
class CorrelationRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "priority", "key", "window_minutes", "min_severity", "min_confidence",
                    "threshold_mode"]
    list_filter = ["enabled", "key", "threshold_mode"]
    filter_horizontal = ["sources"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit("rule.update" if change else "rule.create", obj, actor=request.user, after=snapshot(obj))


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "source", "severity", "confidence", "entity_value", "status", "processing",
                    "occurrence_count", "case", "received_at"]
    list_filter = ["severity", "status", "processing", "source"]
    search_fields = ["title", "entity_value", "source_ref"]
    date_hierarchy = "received_at"
    raw_id_fields = ["case", "group"]
    readonly_fields = [f.name for f in Alert._meta.concrete_fields] + ["observables"]
    list_select_related = ["source", "case"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


@admin.register(AlertGroup)
class AlertGroupAdmin(admin.ModelAdmin):
    list_display = ["id", "rule", "key", "is_open", "alert_count", "first_seen", "last_seen", "case"]
    list_filter = ["is_open", "rule"]
    raw_id_fields = ["case"]


@admin.register(Observable)
class ObservableAdmin(admin.ModelAdmin):
    list_display = ["type", "value", "first_seen"]
    list_filter = ["type"]
    search_fields = ["value"]
    show_full_result_count = False


@admin.register(ObservableType)
class ObservableTypeAdmin(admin.ModelAdmin):
    """Observable types analysts may add by hand (alerts.observable_services.clean_observable).
    The built-in eight cannot be deleted or renamed (their values are normalised in code); admins
    may give them a stricter regex or deactivate them. Every change is audited."""

    list_display = ["key", "label", "built_in", "active", "validation_regex"]
    list_filter = ["built_in", "active"]
    search_fields = ["key", "label", "description"]
    fields = ["key", "label", "validation_regex", "description", "active", "built_in"]
    readonly_fields = ["built_in"]

    def get_readonly_fields(self, request, obj=None):
        # The key is stored on every observable of the type: renaming one in use would orphan them.
        return ["key", "built_in"] if obj is not None else ["built_in"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.built_in:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        record_audit(f"observabletype.{'update' if change else 'create'}", obj, actor=request.user,
                     before=before, after=snapshot(obj))

    def delete_model(self, request, obj):
        record_audit("observabletype.delete", obj, actor=request.user, before=snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.filter(built_in=False):
            self.delete_model(request, obj)
