"""Admin: playbooks are edited here (validated on save, every change a new version);
connectors hold the endpoints and secrets of the actions; runs and approvals are read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse_lazy

from playbooks.models import (
    ApprovalRequest,
    Connector,
    PendingTrigger,
    Playbook,
    PlaybookRun,
    PlaybookVersion,
    StepRun,
)
from playbooks.schema import DefinitionError, parse_and_validate
from playbooks.services.definitions import detect_format, save_playbook
from soar.admin_utils import HideSecretsMixin, WriteOnlySecretFormMixin


class PlaybookEditorWidget(forms.Textarea):
    """The definition's textarea, turned by static/js/playbook_editor.js into a CodeMirror editor
    (vendored, static/vendor/codemirror/) with YAML highlighting and the lines that
    POST /playbooks/validate reports marked as one types. Without JavaScript: the plain textarea."""

    class Media:
        css = {"all": ("vendor/codemirror/codemirror.css", "css/playbook_editor.css")}
        js = ("vendor/codemirror/codemirror.js", "vendor/codemirror/mode/yaml/yaml.js", "js/playbook_editor.js")


class PlaybookForm(forms.ModelForm):
    definition_text = forms.CharField(
        widget=PlaybookEditorWidget(attrs={"rows": 30, "cols": 110, "class": "vLargeTextField", "spellcheck": "false",
                                           "data-playbook-editor": "1",
                                           "data-validate-url": reverse_lazy("playbooks:validate")}),
        help_text="YAML or JSON: name, description, trigger {type, ...}, steps [...]. See README → Playbooks. "
                  "Problems are marked at their line as you type; saving checks again.",
    )

    class Meta:
        model = Playbook
        fields = ["definition_text", "enabled"]

    def clean_definition_text(self):
        text = self.cleaned_data["definition_text"]
        try:
            definition = parse_and_validate(text, detect_format(text))
        except DefinitionError as exc:
            raise forms.ValidationError(exc.problems)
        clash = Playbook.objects.filter(name=definition["name"].strip())
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"name: a playbook named {definition['name']!r} already exists")
        return text


class PlaybookVersionInline(admin.TabularInline):
    model = PlaybookVersion
    extra = 0
    can_delete = False
    fields = readonly_fields = ("version", "created_by", "created_at", "definition_text")
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    form = PlaybookForm
    list_display = ["name", "enabled", "trigger_type", "version", "updated_at"]
    list_filter = ["enabled", "trigger_type"]
    search_fields = ["name", "description"]
    readonly_fields = ["name", "description", "trigger_type", "version", "updated_at"]
    fields = ["name", "description", "trigger_type", "version", "enabled", "definition_text", "updated_at"]
    inlines = [PlaybookVersionInline]

    def save_model(self, request, obj, form, change):
        save_playbook(definition_text=form.cleaned_data["definition_text"], playbook=obj,
                      enabled=form.cleaned_data["enabled"], actor=request.user)


class ConnectorForm(WriteOnlySecretFormMixin, forms.ModelForm):
    secret_field = "secret"  # noqa: S105 - a form field's name, not a secret
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                             help_text="API token or password. Leave empty to keep the current one.")
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = Connector
        fields = ["name", "kind", "enabled", "base_url", "username", "secret", "timeout_seconds", "options"]


@admin.register(Connector)
class ConnectorAdmin(HideSecretsMixin, admin.ModelAdmin):
    secret_fields = ("secret", "clear_secret")
    form = ConnectorForm
    list_display = ["name", "kind", "enabled", "base_url", "has_secret", "updated_at"]
    list_filter = ["kind", "enabled"]

    @admin.display(boolean=True, description="secret set")
    def has_secret(self, obj):
        return bool(obj.secret)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    can_delete = False
    fields = readonly_fields = ("index", "step_id", "type", "action", "status", "attempts", "started_at",
                                "finished_at", "error", "idempotency_key", "inputs", "outputs")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PlaybookRun)
class PlaybookRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "playbook_name", "version", "case", "trigger", "dry_run", "status", "created_at",
                    "finished_at"]
    list_filter = ["status", "dry_run", "trigger"]
    search_fields = ["playbook_name", "case__title"]
    raw_id_fields = ["case", "playbook", "started_by"]
    inlines = [StepRunInline]


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "action", "status", "approver_group", "approver_user", "expires_at", "decided_by",
                    "decided_at"]
    list_filter = ["status", "action"]
    raw_id_fields = ["case", "run", "step"]


@admin.register(PendingTrigger)
class PendingTriggerAdmin(ReadOnlyAdmin):
    """Trigger evaluations owed to cases; open ones past SOAR_FOLLOW_UP_MAX_ATTEMPTS need a look."""

    list_display = ["id", "case", "case_opened", "created_at", "queued_at", "attempts", "done_at"]
    list_filter = ["case_opened", ("done_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["case"]
