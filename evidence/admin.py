from django.contrib import admin

from evidence.models import EvidenceFile


@admin.register(EvidenceFile)
class EvidenceFileAdmin(admin.ModelAdmin):
    """Read-only: files are added through the case page or the API (hashing, observables,
    timeline and audit); the console only lists them."""

    list_display = ["name", "case", "size", "content_type", "sha256", "uploaded_by", "uploaded_at"]
    search_fields = ["name", "sha256", "sha1", "md5"]
    list_filter = ["content_type"]
    readonly_fields = ["case", "file", "name", "description", "size", "content_type", "sha256", "sha1", "md5",
                       "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
