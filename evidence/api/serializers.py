from rest_framework import serializers

from evidence.models import EvidenceFile


class EvidenceFileSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", default=None, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFile
        fields = ["id", "case", "name", "description", "size", "content_type", "sha256", "sha1", "md5",
                  "uploaded_by", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj: EvidenceFile) -> str:
        return f"/api/v1/evidence/{obj.pk}/download"


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
