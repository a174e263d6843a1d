"""Playbooks (versioned declarative definitions), their runs and steps, approval requests for
destructive steps, and the connectors (ticketing, chat, EDR...) that actions talk to."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Playbook(models.Model):
    class Format(models.TextChoices):
        YAML = "yaml", "YAML"
        JSON = "json", "JSON"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    definition_format = models.CharField(max_length=8, choices=Format.choices, default=Format.YAML)
    definition_text = models.TextField(help_text="The playbook in YAML or JSON (see README: Playbooks).")
    # Parsed and validated copy of definition_text; trigger_type is denormalized for the trigger lookup.
    definition = models.JSONField(default=dict, editable=False)
    trigger_type = models.CharField(max_length=32, db_index=True, editable=False)
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["trigger_type", "enabled"])]

    def __str__(self):
        return self.name


class PlaybookVersion(models.Model):
    """Immutable copy of each saved definition; a run points at the version it used."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    definition_text = models.TextField()
    definition = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["playbook", "-version"]
        constraints = [models.UniqueConstraint(fields=["playbook", "version"], name="playbookversion_unique")]

    def __str__(self):
        return f"{self.playbook} v{self.version}"


class Connector(models.Model):
    """Where an action sends its request. Admin-editable; the secret is never shown back."""

    class Kind(models.TextChoices):
        JIRA = "jira", "Jira-compatible REST"
        WEBHOOK = "webhook", "Generic webhook (tickets)"
        SLACK = "slack", "Slack-compatible webhook"
        SMTP = "smtp", "E-mail over SMTP"
        EDR = "edr", "EDR REST (host isolation)"
        DIRECTORY = "directory", "Directory REST (user accounts)"
        FIREWALL = "firewall", "Firewall API"

    name = models.SlugField(max_length=64, unique=True, help_text="Referred to by steps as `connector: <name>`.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    base_url = models.CharField(max_length=500, help_text="http(s) base URL; for SMTP: smtp://host:port.")
    username = models.CharField(max_length=200, blank=True, help_text="Jira/SMTP user (basic auth).")
    secret = models.CharField(max_length=500, blank=True, help_text="API token or password; never displayed.")
    timeout_seconds = models.FloatField(default=10.0)
    options = models.JSONField(default=dict, blank=True,
                               help_text="Kind-specific options, e.g. {\"project\": \"SEC\"} or {\"from\": ...}.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class PlaybookRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"
        DRY_RUN = "dry_run", "Dry run"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.WAITING_APPROVAL)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.DENIED, Status.DRY_RUN)

    playbook = models.ForeignKey(Playbook, null=True, on_delete=models.SET_NULL, related_name="runs")
    playbook_name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    definition = models.JSONField(help_text="Snapshot of the version that this run executes.")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="playbook_runs")
    trigger = models.CharField(max_length=32)
    trigger_data = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    # Flat index of the next step to run (None once finished); committed with each finished step.
    cursor = models.IntegerField(null=True, blank=True, default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Liveness lease: refreshed while a worker executes; the stale-run sweep re-queues past it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["case", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"], name="playbookrun_active_idx",
                         condition=Q(status__in=["queued", "running"])),
        ]

    def __str__(self):
        return f"Run #{self.pk} of {self.playbook_name} v{self.version} on case #{self.case_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class StepRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"
        WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"
        SKIPPED = "skipped", "Skipped"
        WOULD_RUN = "would_run", "Would run (dry run)"

    run = models.ForeignKey(PlaybookRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField(help_text="Position in the flattened definition.")
    step_id = models.CharField(max_length=64)
    type = models.CharField(max_length=16)
    action = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    inputs = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Stable across retries and worker crashes: the receiving API recognises a repeated request.
    idempotency_key = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "step_id"], name="steprun_unique_per_run")]

    def __str__(self):
        return f"{self.step_id} ({self.status}) of run #{self.run_id}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Expired"

    run = models.ForeignKey(PlaybookRun, on_delete=models.CASCADE, related_name="approvals")
    step = models.OneToOneField(StepRun, on_delete=models.CASCADE, related_name="approval")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="approval_requests")
    action = models.CharField(max_length=64)
    summary = models.CharField(max_length=500, help_text="What the step will do, inputs resolved.")
    reason = models.TextField(blank=True)
    approver_group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL)
    approver_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self):
        return f"Approval #{self.pk} ({self.status}) for {self.action} on case #{self.case_id}"

    @property
    def approver_label(self) -> str:
        parts = []
        if self.approver_user is not None:
            parts.append(f"user {self.approver_user.username}")
        if self.approver_group is not None:
            parts.append(f"group {self.approver_group.name}")
        return " or ".join(parts) or "superusers"


class PendingTrigger(models.Model):
    """Durable record that alerts were put in a case and the playbook triggers that react to it
    (case_created, severity_at_least, observable_type_present, alert_ingested) have yet to be
    evaluated. Written in the transaction that puts the alerts in the case
    (alerts.signals.case_alerts_added, cases_alerts_added); evaluated after the commit (in the
    embedded mode's follow-up thread when processing runs in the background), in the same transaction
    as the runs it starts and the ``done_at`` it sets, so exactly once; the beat sweep evaluates
    the ones left open (a process that died or a database that dropped after the commit)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="pending_triggers")
    alert_ids = models.JSONField(default=list)
    case_opened = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["queued_at"], condition=Q(done_at__isnull=True),
                                name="pendingtrigger_open_queued")]

    def __str__(self):
        return f"triggers of case #{self.case_id} ({'done' if self.done_at else 'open'})"
