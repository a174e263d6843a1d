from django.contrib import admin

from evidence.models import EvidenceFile


@admin.register(EvidenceFile)
class EvidenceFileAdmin(admin.ModelAdmin):
    """Read-only: files are added through the case page or the API (hashing, observables,
    timeline and audit); the console only lists them."""

    list_display = ["name", "case", "size", "content_type", "sha256", "uploaded_by", "uploaded_at"]
    search_fields = ["name", "sha256", "sha1", "md5"]
    list_filter = ["content_type"]
    # "stored_as", not the FileField: its widget links to storage.url(), which for an S3 store is a
    # signed bucket URL that would bypass the download view's access check and audit entry.
    readonly_fields = ["case", "stored_as", "name", "description", "size", "content_type", "sha256", "sha1", "md5",
                       "uploaded_by", "uploaded_at"]

    @admin.display(description="Stored as")
    def stored_as(self, obj: EvidenceFile) -> str:
        return obj.file.name or ""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
