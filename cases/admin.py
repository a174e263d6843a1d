from django.contrib import admin

from cases.models import AuditLog, Case, CaseEvent, Tag, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "kind", "actor", "actor_label", "message"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "severity", "status", "team", "assignee", "created_at"]
    list_filter = ["status", "severity", "team"]
    search_fields = ["title"]
    raw_id_fields = ["assignee", "merged_into"]
    readonly_fields = ["status", "created_at", "triaged_at", "in_progress_at", "resolved_at", "closed_at"]
    inlines = [CaseEventInline]
    show_full_result_count = False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "actor_label", "action", "object_type", "object_id", "request_id",
                    "client_ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "request_id"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
