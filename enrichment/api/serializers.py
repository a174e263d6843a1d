from rest_framework import serializers

from enrichment.models import EnrichmentResult
from enrichment.providers.registry import provider_choices


class ObservableRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    value = serializers.CharField()


class EnrichmentResultSerializer(serializers.ModelSerializer):
    observable = ObservableRefSerializer(read_only=True)
    failed = serializers.BooleanField(read_only=True)

    class Meta:
        model = EnrichmentResult
        fields = ["id", "case", "observable", "provider", "verdict", "score", "summary", "raw", "error", "failed",
                  "from_cache", "fetched_at"]
        read_only_fields = fields


class RunEnrichmentSerializer(serializers.Serializer):
    providers = serializers.ListField(child=serializers.ChoiceField(choices=[]), required=False, allow_empty=False,
                                      max_length=50, help_text="Provider keys; default: every enabled provider.")
    observable_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                           allow_empty=False, max_length=500,
                                           help_text="Observables of the case; default: all of them.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        providers = self.fields["providers"]
        if isinstance(providers, serializers.ListField) and isinstance(providers.child, serializers.ChoiceField):
            providers.child.choices = provider_choices()  # the registry, read when a request comes


class RunAcceptedSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    queued = serializers.BooleanField()
    observables = serializers.IntegerField()


class ProviderSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    observable_types = serializers.ListField(child=serializers.CharField())
    requires_network = serializers.BooleanField()
    enabled = serializers.BooleanField()
