"""Cases, teams, tags, the case timeline and the audit trail."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cases.vocabulary import (  # noqa: F401 - SEVERITY_RANK: re-exported for the cases app's own modules
    OPEN_STATUSES,
    SEVERITY_CHOICES,
    SEVERITY_RANK,
    CaseStatus,
    EventKind,
    TrafficLight,
)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="soc_teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Resolution(models.Model):
    """A verdict an analyst gives when resolving a case. The four built-ins (true positive, false
    positive, benign, duplicate) are seeded by migration 0014 and cannot be deleted; admins add
    their own. ``counts_as_false_positive`` decides what the false-positive rates count."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True)
    counts_as_false_positive = models.BooleanField(
        default=False, help_text="Count cases resolved with this verdict as false positives in the reports.")
    builtin = models.BooleanField(default=False, editable=False)
    active = models.BooleanField(default=True, help_text="Offered when resolving (old cases keep theirs).")
    position = models.PositiveSmallIntegerField(default=100, help_text="Order in the resolve form.")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Case(models.Model):
    Status = CaseStatus
    OPEN_STATUSES = OPEN_STATUSES

    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, default="medium", db_index=True)
    confidence = models.PositiveSmallIntegerField(default=50)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    tags = models.ManyToManyField(Tag, blank=True, related_name="cases")
    # case.observables: the link is declared on alerts.Observable.cases (the lower floor names nothing above it).
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    in_progress_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_ack_due = models.DateTimeField(null=True, blank=True)
    sla_resolve_due = models.DateTimeField(null=True, blank=True)
    # The verdict, set when the case is resolved and cleared when it is reopened (the timeline
    # keeps every past verdict); empty for cases resolved by automation without an analyst.
    resolution = models.ForeignKey(Resolution, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    resolution_summary = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="resolved_cases")
    tlp = models.CharField("TLP", max_length=16, choices=TrafficLight.choices, default=TrafficLight.AMBER,
                           help_text="Traffic Light Protocol: who the case's information may be shared with.")
    pap = models.CharField("PAP", max_length=16, choices=TrafficLight.choices, default=TrafficLight.AMBER,
                           help_text="Permissible Actions Protocol: what may be done with its observables.")
    template = models.ForeignKey("CaseTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="cases", help_text="The template the case was opened with.")
    # Values of the admin-defined custom fields, by definition key (cases/custom_fields.py validates
    # them; a GIN index on PostgreSQL serves the queue's cf_<key> filters, migration 0019).
    # db_default too: rows written by SQL (bulk paths, the bench loader) get {} without naming it.
    custom_fields = models.JSONField(default=dict, blank=True, db_default={})

    # MITRE ATT&CK: the union of its alerts' techniques and the ones analysts added (CaseTechnique).
    techniques = models.ManyToManyField("attack.Technique", through="CaseTechnique", blank=True,
                                        related_name="cases")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "status", "-created_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["-created_at", "-id"], name="case_queue_order_idx"),
            models.Index(fields=["status", "sla_resolve_due"], name="case_sla_resolve_idx"),
        ]
        permissions = [("reassign_case", "Can reassign cases across the team (SOC lead)")]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self):
        return self.status in self.OPEN_STATUSES

    @property
    def sla_ack_breached(self) -> bool:
        if not self.sla_ack_due:
            return False
        return (self.triaged_at or timezone.now()) > self.sla_ack_due

    @property
    def sla_resolve_breached(self) -> bool:
        if not self.sla_resolve_due:
            return False
        return (self.resolved_at or timezone.now()) > self.sla_resolve_due

    @property
    def sla_breached(self) -> bool:
        return self.sla_ack_breached or self.sla_resolve_breached


class CaseUserObjectPermission(UserObjectPermissionBase):
    """guardian's per-user grants on cases (shares), with a real foreign key so that the
    visibility query is a plain indexed join instead of a cast on a generic object id."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class Note(models.Model):
    """An analyst's note on a case; markdown, rendered sanitized (never trusted as HTML)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"])]

    def __str__(self):
        return f"Note #{self.pk} on case #{self.case_id}"


class NoteRevision(models.Model):
    """A note's text before one edit by its author (the note holds the current text)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-replaced_at", "-id"]

    def __str__(self):
        return f"Revision of note #{self.note_id}"


# Used when no SlaTarget row exists for a severity (also the data migration's defaults).
DEFAULT_SLA_MINUTES = {
    "critical": (15, 4 * 60),
    "high": (60, 8 * 60),
    "medium": (4 * 60, 24 * 60),
    "low": (8 * 60, 72 * 60),
    "info": (24 * 60, 7 * 24 * 60),
}


class SlaTarget(models.Model):
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, unique=True)
    ack_minutes = models.PositiveIntegerField(help_text="Minutes from creation to triage (acknowledge).")
    resolve_minutes = models.PositiveIntegerField(help_text="Minutes from creation to resolution.")

    class Meta:
        ordering = ["ack_minutes"]
        verbose_name = "SLA target"

    def __str__(self):
        return f"{self.severity}: ack {self.ack_minutes} min, resolve {self.resolve_minutes} min"

    @property
    def ack_delta(self) -> timedelta:
        return timedelta(minutes=self.ack_minutes)

    @property
    def resolve_delta(self) -> timedelta:
        return timedelta(minutes=self.resolve_minutes)


class CaseEvent(models.Model):
    """One entry of a case's timeline (alerts, status changes, notes, evidence, runs...)."""

    Kind = EventKind

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, blank=True,
                                   help_text="Who acted when not a user, e.g. 'automation'.")
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"])]

    def __str__(self):
        return f"{self.kind} on case #{self.case_id}"


class AuditLog(models.Model):
    """Append-only: who changed what, when, from where; never edited (admin is read-only). The
    database refuses UPDATE and DELETE of these rows too (triggers, migration 0008)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit log entries are append-only.")


class ApiToken(models.Model):
    """A personal API token (``Authorization: Token <key>``); a user may hold several, each named,
    scoped (read: safe methods only) and expiring. Only the key's SHA-256 is stored; the key is
    shown once, when it is issued (the user's /me/tokens page, ``manage.py drf_create_token``, the
    admin or ``ApiToken.issue``). Revoked tokens are kept (revoked_at) for the audit trail."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key (hex).")
    prefix = models.CharField(max_length=8, help_text="First characters of the key, to recognise it.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.WRITE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Written at most once a minute per token (cases.api_tokens.record_token_use), not per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # When the last "api_token.use" audit entry was written (at most one per token per hour).
    last_audited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        label = f" {self.name}" if self.name else ""
        return f"{self.prefix}…{label} ({self.user})"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    @classmethod
    def issue_token(cls, user, key: str | None = None, *, name: str = "", scope: str = "write",
                    expires_at=None, replace: bool = False) -> "tuple[ApiToken, str]":
        """A new token for ``user`` and its key (never stored). ``replace``: the user's other
        tokens of the same name are deleted first (drf_create_token's "a new key replaces the old")."""
        key = key or secrets.token_hex(20)
        now = timezone.now()
        if replace:
            cls.objects.filter(user=user, name=name).delete()
        token = cls.objects.create(
            user=user, digest=cls.digest_of(key), prefix=key[:6], name=name, scope=scope, created_at=now,
            expires_at=expires_at or now + timedelta(days=settings.SOAR_API_TOKEN_TTL_DAYS))
        return token, key

    @classmethod
    def issue(cls, user, key: str | None = None, *, name: str = "") -> str:
        """A new write token for ``user`` replacing their previous token of that name; returns the key."""
        return cls.issue_token(user, key, name=name, replace=True)[1]

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def read_only(self) -> bool:
        return self.scope == self.Scope.READ


class UserPreference(models.Model):
    """Per-analyst display settings. An empty time zone means "the browser's" (sent by soar.js in
    the ``soar_tz`` cookie); the theme "system" follows the operating system's light/dark setting."""

    class Theme(models.TextChoices):
        SYSTEM = "system", "Follow the system"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="soar_preference")
    time_zone = models.CharField(max_length=64, blank=True,
                                 help_text="IANA name, e.g. Europe/Paris; empty: the browser's time zone.")
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)

    def __str__(self):
        return f"Preferences of {self.user}"


class SavedView(models.Model):
    """A named queue filter (the query string of the queue page, checked by CaseFilter before it
    is stored: cases/saved_views.py). Private to its owner unless shared with one of their teams."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True, help_text="Queue query string, e.g. severity=high&sort=sla.")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="saved_views",
                             help_text="Shared with this team's members; empty: private.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_unique")]

    def __str__(self):
        return f"{self.name} ({self.owner})"


class CaseTemplate(models.Model):
    """What a kind of case starts with: a title prefix, a description, a minimum severity, tags,
    TLP/PAP and a task list. Applied when a case is opened by hand, by a correlation rule
    (``alerts.CorrelationRule.template``) or by the playbook action ``apply_template``
    (cases/task_templates.py, cases/tasks.py)."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True, help_text="Offered when opening a case by hand.")
    title_prefix = models.CharField(max_length=60, blank=True, help_text='Put before the title, e.g. "[Phishing]".')
    description = models.TextField(blank=True, help_text="Added to the case description (markdown).")
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, blank=True,
                                help_text="The lowest severity a case opened with it gets (empty: keep the given one).")
    tags = models.ManyToManyField(Tag, blank=True, related_name="case_templates")
    tlp = models.CharField("TLP", max_length=16, choices=TrafficLight.choices, default=TrafficLight.AMBER)
    pap = models.CharField("PAP", max_length=16, choices=TrafficLight.choices, default=TrafficLight.AMBER)
    custom_fields = models.JSONField(default=dict, blank=True,
                                     help_text='Custom field values the case starts with, e.g. {"vendor": "acme"}.')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TemplateTask(models.Model):
    """One task a template puts in the cases opened with it."""

    template = models.ForeignKey(CaseTemplate, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    group = models.CharField(max_length=60, blank=True, help_text='e.g. "Containment", "Eradication".')
    required = models.BooleanField(default=False, help_text="Must be done before the case can be resolved.")
    sla_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Due this many minutes after the case opens (empty: no due time).")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.title


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TASK_STATUSES: tuple[str, ...] = (TaskStatus.TODO, TaskStatus.IN_PROGRESS)


class CaseTask(models.Model):
    """One item of a case's checklist. ``required`` tasks must be done before the case can be
    resolved (cases.services.transition_case)."""

    Status = TaskStatus

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    group = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    required = models.BooleanField(default=False)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="case_tasks")
    sla_minutes = models.PositiveIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    template_task = models.ForeignKey(TemplateTask, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="completed_case_tasks")

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["case", "position"]),
            models.Index(fields=["assignee", "status"], name="case_task_assignee_idx"),
        ]

    def __str__(self):
        return f"Task #{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES

    @property
    def overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < timezone.now()


class CaseTechnique(models.Model):
    """A MITRE ATT&CK technique on a case: from one of its alerts (``source`` alert) or added by an
    analyst (``manual``, with who and when). Written by cases.techniques only."""

    class Source(models.TextChoices):
        ALERT = "alert", "From an alert"
        MANUAL = "manual", "Added by an analyst"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="technique_links")
    technique = models.ForeignKey("attack.Technique", on_delete=models.CASCADE, related_name="case_links")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ALERT)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "technique"], name="case_technique_unique")]

    def __str__(self):
        return f"technique {self.technique_id} on case #{self.case_id}"


# --- custom fields (issue 18) -----------------------------------------------------------------

CUSTOM_FIELD_KEY_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"


class CustomFieldDefinition(models.Model):
    """One admin-defined, typed field of every case; its value lives in ``Case.custom_fields``
    under ``key`` (validated by cases/custom_fields.py, filtered by ``cf_<key>=`` in the queue
    and the API, one ``cf_<key>`` column in the case exports)."""

    class Type(models.TextChoices):
        STRING = "string", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        USER = "user", "User"

    # No double underscore: the key is a JSON key lookup (custom_fields__<key>).
    key = models.CharField(max_length=50, unique=True, validators=[RegexValidator(
        CUSTOM_FIELD_KEY_PATTERN, "Lower-case letters, digits and single underscores, starting with a letter.")])
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.STRING)
    choices = models.JSONField(default=list, blank=True,
                               help_text='For "choice": the allowed values, e.g. ["low", "high"].')
    required = models.BooleanField(default=False, help_text="Must have a value when an analyst edits the fields.")
    help_text = models.CharField(max_length=255, blank=True)
    order = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True, help_text="Inactive fields are hidden; stored values are kept.")

    class Meta:
        ordering = ["order", "key"]

    def __str__(self):
        return self.label

    def clean(self):
        # "custom_fields__<key>" must name the key, not a lookup of the JSON column (exact, in, ...).
        if self.key in models.JSONField().get_lookups():
            raise ValidationError({"key": f"{self.key!r} is a reserved word; choose another key."})
        if self.type == self.Type.CHOICE:
            if (not isinstance(self.choices, list) or not self.choices
                    or not all(isinstance(c, str) and c.strip() for c in self.choices)):
                raise ValidationError({"choices": "A choice field needs a list of non-empty strings."})
        elif self.choices:
            raise ValidationError({"choices": "Only a choice field has choices."})
