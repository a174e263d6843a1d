"""Evidence files attached to cases. The bytes live in the ``evidence`` storage (Django's
``STORAGES["evidence"]``: a directory under SOAR_VAR_DIR by default, outside the web root, or an
S3-compatible bucket), content-addressed by SHA-256; the row says which case holds them and is
what access is checked against."""

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models


def evidence_storage() -> Storage:
    # A callable keeps the storage out of migrations. Django calls it once, when the model is
    # loaded: the services call it again on each use, so a changed STORAGES applies at once.
    return storages["evidence"]


class EvidenceFile(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    file = models.FileField(storage=evidence_storage, max_length=300, editable=False)
    # The uploader's file name made safe (no path, no control characters): the download's name.
    name = models.CharField(max_length=255)
    description = models.CharField(max_length=500, blank=True)
    size = models.PositiveBigIntegerField()
    # Sniffed from the first bytes (evidence/sniff.py), never taken from the uploader; shown
    # only: a download is always application/octet-stream.
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64, db_index=True)
    sha1 = models.CharField(max_length=40)
    md5 = models.CharField(max_length=32)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "sha256"], name="evidence_once_per_case")]

    def __str__(self):
        return f"{self.name} ({self.sha256[:12]})"
