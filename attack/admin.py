from django.contrib import admin

from attack.models import Tactic, Technique


@admin.register(Tactic)
class TacticAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "shortname", "order", "deprecated")
    search_fields = ("external_id", "name", "shortname")


@admin.register(Technique)
class TechniqueAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "parent", "is_subtechnique", "revoked", "deprecated")
    list_filter = ("is_subtechnique", "revoked", "deprecated", "tactics")
    search_fields = ("external_id", "name")
    raw_id_fields = ("parent",)
