from rest_framework import serializers

from alerts import queue_actions
from alerts.models import Alert, AlertSource, Observable


class ObservableBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Observable
        fields = ["id", "type", "value"]


class AlertListSerializer(serializers.ModelSerializer):
    # The alert's source by name. The metaclass takes declared fields out of the class, so this
    # does not replace Field.source at runtime; the stubs only see a class attribute.
    source: serializers.SlugRelatedField[AlertSource] = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="name", read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "title", "severity", "confidence", "category", "entity_type", "entity_value", "source",
                  "status", "case", "occurrence_count", "occurred_at", "received_at", "last_seen_at", "resolved_at",
                  "parse_warnings"]
        read_only_fields = fields


class AlertDetailSerializer(AlertListSerializer):
    observables = ObservableBriefSerializer(many=True, read_only=True)
    # issue 18: ATT&CK ids as the tool sent them, and those the catalogue knows (linked).
    techniques: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="external_id", many=True, read_only=True)

    class Meta(AlertListSerializer.Meta):
        fields = AlertListSerializer.Meta.fields + ["description", "severity_raw", "source_ref", "fingerprint",
                                                    "observables", "raw", "attack_ids", "techniques"]
        read_only_fields = fields


class PromoteSerializer(serializers.Serializer):
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)
    team = serializers.IntegerField(required=False, allow_null=True, default=None,
                                    help_text="Team id of the new case; defaults to the alerts' source team or yours.")
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class AttachSerializer(serializers.Serializer):
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)
    case_id = serializers.IntegerField(min_value=1)


class DismissSerializer(serializers.Serializer):
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)
    reason = serializers.CharField(max_length=queue_actions.DISMISS_REASON_MAX,
                                   help_text="Why these alerts are not worth a case (kept on each alert and audited).")


class RestoreSerializer(serializers.Serializer):
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)


class AlertCountSerializer(serializers.Serializer):
    alerts = serializers.IntegerField(help_text="How many of the given alerts were changed.")


class AlertActionResultSerializer(serializers.Serializer):
    case_id = serializers.IntegerField()
    alerts = serializers.IntegerField()
