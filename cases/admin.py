"""The admin is the configuration console (teams, tags, SLA targets, users). Cases can be
looked at and changed here too, but only through cases.services (lifecycle actions, audit);
the audit log is read-only."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from rest_framework.authtoken.models import TokenProxy

from cases import custom_fields, selectors, services
from cases.lifecycle import ACTION_LABELS
from cases.models import (
    ApiToken,
    AuditLog,
    Case,
    CaseEvent,
    CaseTemplate,
    CustomFieldDefinition,
    Note,
    Resolution,
    SlaTarget,
    Tag,
    Team,
    TemplateTask,
)

User = get_user_model()


class AuditedAdmin(admin.ModelAdmin):
    """Every save and delete made in the admin lands in the audit log."""

    audit_fields: list[str] | None = None

    def _label(self, obj):
        return obj._meta.model_name

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            old = type(obj).objects.filter(pk=obj.pk).first()
            before = services.snapshot(old, fields=self.audit_fields) if old else None
        super().save_model(request, obj, form, change)
        services.record_audit(f"{self._label(obj)}.{'update' if change else 'create'}", obj, actor=request.user,
                              before=before, after=services.snapshot(obj, fields=self.audit_fields))

    def delete_model(self, request, obj):
        services.record_audit(f"{self._label(obj)}.delete", obj, actor=request.user,
                              before=services.snapshot(obj, fields=self.audit_fields))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "slug", "member_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.members.count()

    def save_related(self, request, form, formsets, change):
        before = sorted(form.instance.members.values_list("username", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(form.instance.members.values_list("username", flat=True))
        if before != after:
            services.record_audit("team.members", form.instance, actor=request.user, before={"members": before},
                                  after={"members": after})


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    search_fields = ["name"]


@admin.register(Resolution)
class ResolutionAdmin(AuditedAdmin):
    """Verdicts: the built-ins can be renamed, reordered or retired (inactive), never deleted; a
    resolution used by a case cannot be deleted either (retire it instead)."""

    list_display = ["name", "slug", "counts_as_false_positive", "active", "builtin", "position"]
    list_editable = ["counts_as_false_positive", "active", "position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]

    def get_readonly_fields(self, request, obj=None):
        return ["slug", "builtin"] if obj is not None and obj.builtin else ["builtin"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.builtin or obj.cases.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.filter(builtin=False, cases__isnull=True))


@admin.register(SlaTarget)
class SlaTargetAdmin(AuditedAdmin):
    list_display = ["severity", "ack_minutes", "resolve_minutes"]
    list_editable = ["ack_minutes", "resolve_minutes"]
    list_display_links = ["severity"]


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "actor", "actor_label", "message")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseActionForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason (needed to reopen)", max_length=2000)
    resolution = forms.ModelChoiceField(queryset=Resolution.objects.filter(active=True), required=False,
                                        to_field_name="slug", label="Resolution (needed to resolve)")
    summary = forms.CharField(required=False, label="Summary (needed to resolve)", max_length=5000)


def _transition_action(to_status, label):
    def action(modeladmin, request, queryset):
        reason = request.POST.get("reason", "")
        done = 0
        for case in queryset:
            if not selectors.can_change_case(request.user, case):
                messages.error(request, f"#{case.pk}: you may not change this case.")
                continue
            try:
                services.transition_case(case, to_status, actor=request.user, reason=reason,
                                         resolution=request.POST.get("resolution", ""),
                                         summary=request.POST.get("summary", ""))
                done += 1
            except services.CaseError as exc:
                messages.error(request, f"#{case.pk}: {exc}")
        if done:
            messages.success(request, f"{done} case(s) moved to {Case.Status(to_status).label}.")

    action.__name__ = f"move_to_{to_status.lower()}"
    return admin.action(description=f"{label} selected cases")(action)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "severity", "status", "team", "assignee", "sla_breached", "created_at"]
    list_filter = ["status", "severity", "team", ("assignee", admin.RelatedOnlyFieldListFilter), "created_at"]
    list_select_related = ["team", "assignee"]
    search_fields = ["title"]
    fields = ["title", "description", "severity", "team", "assignee", "tags", "status", "merged_into",
              "created_at", "triaged_at", "in_progress_at", "resolved_at", "closed_at", "sla_ack_due",
              "sla_resolve_due", "resolution", "resolution_summary", "resolved_by", "template", "tlp", "pap",
              "custom_fields"]
    raw_id_fields = ["assignee"]
    filter_horizontal = ["tags"]
    readonly_fields = ["status", "merged_into", "created_at", "triaged_at", "in_progress_at", "resolved_at",
                       "closed_at", "sla_ack_due", "sla_resolve_due", "resolution", "resolution_summary",
                       "resolved_by", "tlp", "pap", "custom_fields"]
    inlines = [CaseEventInline]
    show_full_result_count = False
    action_form = CaseActionForm
    actions = [
        _transition_action(Case.Status.TRIAGED, ACTION_LABELS[Case.Status.TRIAGED]),
        _transition_action(Case.Status.IN_PROGRESS, "Start work on / reopen"),
        _transition_action(Case.Status.RESOLVED, ACTION_LABELS[Case.Status.RESOLVED]),
        _transition_action(Case.Status.CLOSED, ACTION_LABELS[Case.Status.CLOSED]),
    ]

    @admin.display(boolean=True, description="SLA breached")
    def sla_breached(self, obj):
        return obj.sla_breached

    def get_queryset(self, request):
        return selectors.visible_cases(request.user)

    def get_readonly_fields(self, request, obj=None):
        # A template is applied when the case is opened (its tasks, TLP/PAP, tags), not swapped later.
        return [*self.readonly_fields, "template"] if obj is not None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and not selectors.can_change_case(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # Nothing is saved directly: each change goes through its service (timeline + audit).
        data = form.cleaned_data
        try:
            if not change:
                case = services.open_case(title=data["title"], severity=data["severity"],
                                          description=data.get("description", ""), team=data.get("team"),
                                          actor=request.user, actor_label="",
                                          template_id=data["template"].pk if data.get("template") else None)
                obj.pk = case.pk
                if data.get("assignee"):
                    services.assign_case(case, data["assignee"], actor=request.user)
                return
            case = Case.objects.get(pk=obj.pk)
            edits = {f: data[f] for f in services.EDITABLE_FIELDS if f in form.changed_data}
            if edits:
                case = services.update_case(case, actor=request.user, **edits)
            if "team" in form.changed_data:
                case = services.set_case_team(case, data.get("team"), actor=request.user)
            if "assignee" in form.changed_data:
                services.assign_case(case, data.get("assignee"), actor=request.user)
        except services.CaseError as exc:
            messages.error(request, str(exc))

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the read-only timeline inline; tags go through the service below
            self.save_formset(request, form, formset, change=change)
        case = Case.objects.filter(pk=form.instance.pk).first()
        if case is None or "tags" not in form.changed_data:
            return
        wanted = {t.name for t in form.cleaned_data.get("tags", [])}
        current = set(case.tags.values_list("name", flat=True))
        try:
            services.change_tags(case, add=sorted(wanted - current), remove=sorted(current - wanted),
                                 actor=request.user)
        except services.CaseError as exc:
            messages.error(request, str(exc))

    def delete_model(self, request, obj):
        services.record_audit("case.delete", obj, actor=request.user, before=services.snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class TemplateTaskInline(admin.TabularInline):
    model = TemplateTask
    extra = 1
    fields = ["position", "title", "group", "required", "sla_minutes", "description"]


class CaseTemplateForm(forms.ModelForm):
    class Meta:
        model = CaseTemplate
        fields = ["name", "active", "title_prefix", "description", "severity", "tags", "tlp", "pap", "custom_fields"]

    def clean_custom_fields(self):
        # The defaults are refused here like an analyst's values (unknown key, wrong type, ...).
        try:
            return custom_fields.check_template_defaults(self.cleaned_data.get("custom_fields") or {})
        except custom_fields.CustomFieldError as exc:
            raise forms.ValidationError([f"{key}: {' '.join(msgs)}" for key, msgs in exc.field_errors.items()])


@admin.register(CaseTemplate)
class CaseTemplateAdmin(AuditedAdmin):
    """Case templates with their task lists (inline); every change is audited, the task list too."""

    form = CaseTemplateForm

    list_display = ["name", "active", "title_prefix", "severity", "tlp", "pap", "task_count"]
    list_filter = ["active", "severity"]
    search_fields = ["name", "title_prefix"]
    filter_horizontal = ["tags"]
    inlines = [TemplateTaskInline]
    audit_fields = ["name", "active", "title_prefix", "description", "severity", "tlp", "pap", "custom_fields"]

    @admin.display(description="Tasks")
    def task_count(self, obj):
        return obj.tasks.count()

    def save_related(self, request, form, formsets, change):
        before = list(form.instance.tasks.values_list("title", "required", "sla_minutes")) if change else []
        super().save_related(request, form, formsets, change)
        after = list(form.instance.tasks.values_list("title", "required", "sla_minutes"))
        if before != after:
            services.record_audit("casetemplate.tasks", form.instance, actor=request.user,
                                  before={"tasks": [list(row) for row in before]},
                                  after={"tasks": [list(row) for row in after]})


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "author", "created_at"]
    list_filter = [("author", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["body"]
    raw_id_fields = ["case"]
    list_select_related = ["case", "author"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(case__in=selectors.visible_cases(request.user).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "actor_label", "action", "object_type", "object_id", "request_id",
                    "client_ip"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["object_id", "object_repr", "request_id"]
    show_full_result_count = False
    list_select_related = ["actor"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    audit_fields = ["username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups", "soc_teams"]

    def _label(self, obj):
        return "user"

    def save_related(self, request, form, formsets, change):
        before = sorted(form.instance.groups.values_list("name", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(form.instance.groups.values_list("name", flat=True))
        if before != after:
            services.record_audit("user.groups", form.instance, actor=request.user, before={"groups": before},
                                  after={"groups": after})


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)


# User API tokens: stored hashed (cases.models.ApiToken); DRF's Token admin would list the keys.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "scope"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Issue (the key is shown once, in a message), list and revoke user API tokens."""

    form = ApiTokenForm
    list_display = ["prefix", "user", "name", "scope", "created_at", "expires_at", "last_used_at", "revoked_at",
                    "is_expired"]
    list_select_related = ["user"]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "expires_at"]
    actions = ["delete_selected"]

    @admin.display(boolean=True, description="Expired")
    def is_expired(self, obj):
        return obj.expired

    _SHOWN = ["user", "name", "scope", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip",
              "revoked_at"]

    def get_fields(self, request, obj=None):
        return ["user", "name", "scope"] if obj is None else self._SHOWN

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self._SHOWN

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, key = ApiToken.issue_token(obj.user, name=obj.name, scope=obj.scope)
        obj.pk = token.pk
        obj.refresh_from_db()
        services.record_audit("api_token.issue", obj, actor=request.user)
        messages.warning(request, f"API token for '{obj.user}' (shown only now, store it safely; "
                                  f"expires {obj.expires_at:%Y-%m-%d}): {key}")

    def delete_model(self, request, obj):
        services.record_audit("api_token.revoke", obj, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(AuditedAdmin):
    """The custom fields of cases (cases/custom_fields.py). Deactivate rather than delete: the
    values stay on the cases, hidden, and come back when the field is reactivated."""

    list_display = ["key", "label", "type", "required", "active", "order"]
    list_filter = ["type", "required", "active"]
    list_editable = ["order", "active"]
    search_fields = ["key", "label"]
    audit_fields = ["key", "label", "type", "choices", "required", "help_text", "order", "active"]

    def get_readonly_fields(self, request, obj=None):
        # The key names the stored values (and the cf_<key> filters): renaming would orphan them.
        return ["key"] if obj is not None else []
