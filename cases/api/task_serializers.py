"""Serializers of the case tasks API (cases/api/task_views.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import serializers

from cases.models import CaseTask, TaskStatus
from cases.tasks import MAX_GROUP, MAX_SLA_MINUTES, MAX_TEXT, MAX_TITLE

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class TaskSerializer(serializers.ModelSerializer):
    assignee: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    completed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True)
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = CaseTask
        fields = ["id", "case", "position", "title", "description", "group", "status", "required", "assignee",
                  "sla_minutes", "due_at", "overdue", "notes", "completed_by", "completed_at", "created_at",
                  "updated_at"]
        read_only_fields = fields


class _TaskFields(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    group = serializers.CharField(required=False, allow_blank=True, max_length=MAX_GROUP)
    # DRF pops declared fields off the class, so this does not shadow Field.required at run time.
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    sla_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_SLA_MINUTES,
                                           help_text="Due this many minutes after the task was created.")
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=150,
                                     help_text="Username (a member of the case's team); null or empty to unassign.")


class TaskCreateSerializer(_TaskFields):
    title = serializers.CharField(max_length=MAX_TITLE)


class TaskUpdateSerializer(_TaskFields):
    title = serializers.CharField(required=False, max_length=MAX_TITLE)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    position = serializers.IntegerField(required=False, min_value=0, max_value=100_000)
