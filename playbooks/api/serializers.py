from __future__ import annotations

import json

from django.contrib.auth.models import Group, User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from playbooks.models import ApprovalRequest, Playbook, PlaybookRun, PlaybookVersion, StepRun
from playbooks.selectors import can_answer

MAX_COMMENT = 2000


@extend_schema_field({"oneOf": [{"type": "string", "description": "YAML or JSON text"}, {"type": "object"}]})
class DefinitionField(serializers.Field):
    """YAML/JSON text, or an already-parsed JSON object (stored as JSON text)."""

    default_error_messages = {"invalid": "Give the definition as YAML/JSON text or as a JSON object."}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            return json.dumps(data, indent=2)
        if isinstance(data, str) and data.strip():
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class PlaybookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Playbook
        fields = ["id", "name", "description", "enabled", "trigger_type", "version", "definition_format",
                  "definition", "definition_text", "created_at", "updated_at"]
        read_only_fields = fields


class PlaybookWriteSerializer(serializers.Serializer):
    definition = DefinitionField()
    enabled = serializers.BooleanField(required=False)


class ValidateSerializer(serializers.Serializer):
    definition = DefinitionField()


class PlaybookVersionSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = PlaybookVersion
        fields = ["version", "definition_text", "definition", "created_by", "created_at"]


class RunOnCaseSerializer(serializers.Serializer):
    playbook = serializers.IntegerField(min_value=1)
    dry_run = serializers.BooleanField(default=False)


class RunPlaybookSerializer(serializers.Serializer):
    case = serializers.IntegerField(min_value=1)
    dry_run = serializers.BooleanField(default=False)


class StepRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = ["step_id", "index", "type", "action", "status", "inputs", "outputs", "error", "attempts",
                  "idempotency_key", "started_at", "finished_at"]


class ApprovalSerializer(serializers.ModelSerializer):
    approver_group: serializers.SlugRelatedField[Group] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True)
    approver_user: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    decided_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    step = serializers.CharField(source="step.step_id", read_only=True)
    can_answer = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = ["id", "run", "case", "step", "action", "summary", "reason", "approver_group", "approver_user",
                  "status", "requested_at", "expires_at", "decided_by", "decided_at", "comment", "can_answer"]

    def get_can_answer(self, approval: ApprovalRequest) -> bool:
        request = self.context.get("request")
        return request is not None and approval.status == "pending" and can_answer(request.user, approval)


class PlaybookRunSerializer(serializers.ModelSerializer):
    steps = StepRunSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    started_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = PlaybookRun
        fields = ["id", "playbook", "playbook_name", "version", "case", "trigger", "trigger_data", "dry_run", "status",
                  "error", "started_by", "created_at", "started_at", "finished_at", "steps", "approvals"]


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=MAX_COMMENT, default="")
