from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.markdown import render_markdown
from cases.models import SEVERITY_CHOICES, AuditLog, Case, CaseEvent, Note, NoteRevision, Resolution, Tag, Team
from cases.services_bulk import BULK_ACTIONS, MAX_BULK

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class CaseListSerializer(serializers.ModelSerializer):
    assignee: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    team_name = serializers.CharField(source="team.name", read_only=True, default=None, allow_null=True)
    tags = serializers.SerializerMethodField()
    sla_breached = serializers.BooleanField(read_only=True)

    class Meta:
        model = Case
        fields = ["id", "title", "severity", "status", "confidence", "assignee", "assignee_id", "team", "team_name",
                  "tags", "sla_ack_due", "sla_resolve_due", "sla_breached", "merged_into", "created_at",
                  "updated_at", "triaged_at", "in_progress_at", "resolved_at", "closed_at", "custom_fields"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, case):
        return [tag.name for tag in case.tags.all()]


# issue 18: MITRE ATT&CK on a case
class CaseTechniqueSerializer(serializers.Serializer):
    id = serializers.CharField(source="technique.external_id")
    name = serializers.CharField(source="technique.name")
    tactics = serializers.SerializerMethodField()
    source = serializers.CharField()  # type: ignore[assignment]  # the link's field, not Field.source
    added_by = serializers.CharField(source="added_by.username", default=None, allow_null=True)
    added_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tactics(self, link):
        return [tactic.shortname for tactic in link.technique.tactics.all()]


class CaseDetailSerializer(CaseListSerializer):
    resolution: serializers.SlugRelatedField[Resolution] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="The verdict (slug), null until resolved.")
    resolved_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    alert_count = serializers.IntegerField(read_only=True)
    observable_count = serializers.IntegerField(read_only=True)
    allowed_transitions = serializers.ListField(child=serializers.CharField(), read_only=True)
    can_change = serializers.BooleanField(read_only=True)
    techniques = serializers.SerializerMethodField(help_text="MITRE ATT&CK techniques (from alerts or analysts).")

    class Meta(CaseListSerializer.Meta):
        fields = CaseListSerializer.Meta.fields + ["description", "resolution", "resolution_summary", "resolved_by",
                                                   "tlp", "pap", "template", "alert_count", "observable_count",
                                                   "allowed_transitions", "can_change", "techniques"]
        read_only_fields = fields

    @extend_schema_field(CaseTechniqueSerializer(many=True))
    def get_techniques(self, case):
        links = case.technique_links.select_related("technique", "added_by").prefetch_related("technique__tactics")
        return CaseTechniqueSerializer(links.order_by("technique__external_id"), many=True).data


class CaseCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    severity = serializers.ChoiceField(choices=SEVERITY_CHOICES, default="medium")
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    template = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                     help_text="A case template (id or name): title prefix, minimum severity, "
                                               "TLP/PAP, tags and tasks.")
    custom_fields = serializers.DictField(
        required=False, allow_empty=True,
        help_text="Custom field values by key (over the template's defaults). Checked against the active "
                  "definitions: 400 with {\"custom_fields\": {key: [error]}} and no case opened otherwise.")


class CaseUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    severity = serializers.ChoiceField(choices=SEVERITY_CHOICES, required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    custom_fields = serializers.DictField(
        required=False, allow_empty=True,
        help_text="Custom field values by key (only the keys sent change; null or \"\" clears one). Checked "
                  "against the active definitions: 400 with {\"custom_fields\": {key: [error]}} otherwise.")


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Case.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    resolution = serializers.CharField(required=False, allow_blank=True, default="", max_length=50,
                                       help_text="To RESOLVED (required): a resolution slug, see /resolutions.")
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                    help_text="To RESOLVED (required): what was found and done.")


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=50, help_text="A resolution slug, see /resolutions.")
    summary = serializers.CharField(max_length=5000, help_text="What was found and done.")


class ResolutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resolution
        fields = ["id", "slug", "name", "description", "counts_as_false_positive", "builtin"]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all(), allow_null=True,
                                                  help_text="User id, or null to unassign.")


class TagChangeSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                max_length=50)
    remove = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                   max_length=50)


class NoteRevisionSerializer(serializers.ModelSerializer):
    edited_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = NoteRevision
        fields = ["body", "edited_by", "replaced_at"]
        read_only_fields = fields


class NoteSerializer(serializers.ModelSerializer):
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    body_html = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "case", "author", "body", "body_html", "created_at", "edited_at"]
        read_only_fields = ["id", "case", "author", "body_html", "created_at", "edited_at"]

    def get_body_html(self, note) -> str:
        return render_markdown(note.body)


class NoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20_000)


class MergeSerializer(serializers.Serializer):
    target = serializers.IntegerField(min_value=1, help_text="Id of the case that absorbs this one.")


class ShareSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="Username or user id.")
    can_change = serializers.BooleanField(default=True)
    revoke = serializers.BooleanField(default=False)


class BulkSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_BULK)
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    assignee = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all(), allow_null=True,
                                                  required=False, default=None)
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list,
                                max_length=50)
    resolution = serializers.CharField(required=False, allow_blank=True, default="", max_length=50,
                                       help_text="For resolve: a resolution slug (required).")
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                    help_text="For resolve: the summary (required).")


class BulkResultSerializer(serializers.Serializer):
    results = serializers.DictField(child=serializers.CharField())
    ok = serializers.IntegerField()
    failed = serializers.IntegerField()
    message = serializers.CharField(help_text='One sentence, e.g. "Resolved 7 cases; skipped 2: #4 already closed".')


class CaseEventSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "case", "kind", "message", "actor", "actor_label", "data", "created_at"]
        read_only_fields = fields


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name"]


class AuditLogSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AuditLog
        fields = ["id", "created_at", "actor", "actor_label", "action", "object_type", "object_id", "object_repr",
                  "before", "after", "request_id", "client_ip"]
        read_only_fields = fields


# --- issue 18: MITRE ATT&CK on a case ---

class TechniqueChangeSerializer(serializers.Serializer):
    technique = serializers.CharField(max_length=16, help_text="An ATT&CK technique id, e.g. T1059.001.")
