"""Alert sources, normalized alerts, observables, correlation rules and alert groups."""

import hashlib
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from alerts.normalization import SEVERITIES

SEVERITY_CHOICES = [(s, s.capitalize()) for s in SEVERITIES]
TOKEN_PREFIX_LENGTH = 8
OBSERVABLE_TYPE_MAX_LENGTH = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AlertSource(models.Model):
    """A sender on the webhook: its adapter, its credentials and where its cases go."""

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, help_text="Adapter that parses this source's payloads.")
    description = models.CharField(max_length=255, blank=True)
    # Only the SHA-256 of the token is kept; the token itself is shown once when generated.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, blank=True, editable=False)
    hmac_secret = models.CharField(
        max_length=255, blank=True,
        help_text="When set, requests must be signed with HMAC-SHA256 (see README).",
    )
    enabled = models.BooleanField(default=True)
    default_team = models.ForeignKey("cases.Team", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def rotate_token(self) -> str:
        """Set a new random token and return it (the only time it is visible)."""
        token = f"soar_{secrets.token_urlsafe(32)}"
        self.token_hash = hash_token(token)
        self.token_prefix = token[:TOKEN_PREFIX_LENGTH]
        return token


class Observable(models.Model):
    # One of the built-in ENTITY_TYPES or an admin-defined ObservableType key (no fixed choices).
    type = models.CharField(max_length=OBSERVABLE_TYPE_MAX_LENGTH)
    value = models.CharField(max_length=2048)
    # value may exceed index limits; uniqueness is enforced on the digest.
    value_hash = models.CharField(max_length=64, editable=False)
    first_seen = models.DateTimeField(auto_now_add=True)
    # The cases that hold this observable (case.observables). Declared here, not on Case, so that
    # the cases app names no model of the floor above it; the table is the one Case declared
    # until migration alerts/0009 (cases_case_observables: case_id, observable_id).
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="observables",
                                   db_table="cases_case_observables")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["type", "value_hash"], name="observable_unique_type_value")]

    def __str__(self):
        return f"{self.type}:{self.value[:80]}"

    @staticmethod
    def digest(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()


class CorrelationRule(models.Model):
    class Key(models.TextChoices):
        ENTITY = "entity", "Primary entity"
        OBSERVABLE = "observable", "Any shared observable"
        FINGERPRINT = "fingerprint", "Fingerprint"

    class ThresholdMode(models.TextChoices):
        ALL = "all", "Severity AND confidence"
        ANY = "any", "Severity OR confidence"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first; the first matching rule wins.")
    sources = models.ManyToManyField(AlertSource, blank=True, help_text="Empty means every source.")
    key = models.CharField(max_length=16, choices=Key.choices, default=Key.ENTITY)
    window_minutes = models.PositiveIntegerField(default=15)
    min_severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, default="high")
    min_confidence = models.PositiveSmallIntegerField(default=45)
    threshold_mode = models.CharField(max_length=8, choices=ThresholdMode.choices, default=ThresholdMode.ALL)
    resolve_cases = models.BooleanField(
        default=False,
        help_text="Move a case to RESOLVED when every alert in it has been resolved by its sender "
                  "(Alertmanager/Grafana). Otherwise the case only gets a timeline entry.",
    )
    template = models.ForeignKey(
        "cases.CaseTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="correlation_rules",
        help_text="The case template applied to the cases this rule opens (title prefix, tags, TLP/PAP, tasks).",
    )

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self):
        return self.name


class AlertGroup(models.Model):
    """Alerts sharing a correlation key inside a window. At most one open group per (rule, key):
    the partial unique constraint is what makes concurrent senders converge on one group."""

    rule = models.ForeignKey(CorrelationRule, on_delete=models.CASCADE, related_name="groups")
    key = models.CharField(max_length=2100)
    key_hash = models.CharField(max_length=64)
    is_open = models.BooleanField(default=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    alert_count = models.PositiveIntegerField(default=0)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="alert_groups"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "key_hash"], condition=Q(is_open=True), name="alertgroup_one_open_per_key"
            )
        ]
        indexes = [models.Index(fields=["key_hash", "is_open"])]

    def __str__(self):
        return f"{self.rule}: {self.key[:80]}"


class Alert(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "In alert queue"
        IN_CASE = "in_case", "In a case"
        DISMISSED = "dismissed", "Dismissed"

    class Processing(models.TextChoices):
        # PENDING rows are the transactional outbox: committed with the alert, swept until done.
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey(AlertSource, on_delete=models.PROTECT, related_name="alerts")
    source_ref = models.CharField(max_length=255, blank=True)
    dedup_key = models.CharField(max_length=300, blank=True, help_text="Idempotency key or source ref.")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    # Every index is maintained on each ingested alert: only the ones a query uses exist (no
    # single-column status/severity/fingerprint indexes; (case, received_at) serves case_id).
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES)
    severity_raw = models.CharField(max_length=64, blank=True)
    confidence = models.PositiveSmallIntegerField(default=50)
    category = models.CharField(max_length=100, blank=True)
    entity_type = models.CharField(max_length=16, blank=True)
    entity_value = models.CharField(max_length=2048, blank=True)
    observables = models.ManyToManyField(Observable, blank=True, related_name="alerts")
    fingerprint = models.CharField(max_length=128)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    occurrence_count = models.PositiveIntegerField(default=1)
    raw = models.JSONField(default=dict, blank=True)
    # Optional fields the sender got wrong and the fallback taken for each (never a refusal).
    parse_warnings = models.JSONField(default=list, blank=True)
    # Set when the sender reports the condition over (Alertmanager/Grafana "resolved").
    resolved_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    processing = models.CharField(max_length=16, choices=Processing.choices, default=Processing.PENDING)
    processing_attempts = models.PositiveSmallIntegerField(default=0)
    processing_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # [[type, value], ...] extracted at ingestion and linked by the worker (then NULL): the
    # webhook's transaction writes one row per alert, never the shared observable rows.
    pending_observables = models.JSONField(null=True, blank=True, editable=False)
    # Who dismissed the alert from the queue, when and why (alerts.services.dismiss_alerts).
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # db_default: the raw INSERT and COPY of ingestion (alerts/bulk.py) do not name this column.
    dismiss_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    group = models.ForeignKey(AlertGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts",
                             db_index=False)

    # MITRE ATT&CK (attack app): the technique ids the tool sent (rule.mitre.id, threat[], Suricata
    # metadata), kept as sent so that ids the catalogue does not know yet are not lost; the known
    # ones are linked in ``techniques`` when the alert is processed (alerts.attack_mapping), in bulk.
    attack_ids = models.JSONField(default=list, blank=True, db_default=[])
    techniques = models.ManyToManyField("attack.Technique", blank=True, related_name="alerts")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "dedup_key"], condition=~Q(dedup_key=""), name="alert_unique_dedup_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["processing", "received_at"], name="alert_outbox_idx",
                         condition=Q(processing="pending")),
            # Failed alerts are few; the sweep finds them without scanning the table.
            models.Index(fields=["processed_at"], name="alert_failed_idx", condition=Q(processing="failed")),
            models.Index(fields=["case", "received_at"]),
            models.Index(fields=["status", "-received_at"]),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title[:80]}"


class SignedRequest(models.Model):
    """A signed webhook request accepted inside its timestamp window. The same signature again
    is a replay: it stores nothing and is answered with these alert ids as duplicates. Rows
    are deleted by the alert sweep once the timestamp window has passed (the timestamp check
    refuses the signature from then on)."""

    # SHA-256 of "<source id>:<signature hex>"; unique, so two identical requests in flight
    # serialise on the index and the second one sees the first's row.
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    alert_ids = models.JSONField(default=list)

    def __str__(self):
        return self.digest[:12]


class CaseObservable(models.Model):
    """What the analysts of one case know about one of its observables: IOC and sighted flags,
    TLP, tags and a description. The case <-> observable link itself stays the plain M2M
    (``Observable.cases``, written in bulk by correlation); a row here exists only once an
    analyst has said something about the pair, so correlation never writes it."""

    class Tlp(models.TextChoices):
        CLEAR = "clear", "TLP:CLEAR"
        GREEN = "green", "TLP:GREEN"
        AMBER = "amber", "TLP:AMBER"
        AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
        RED = "red", "TLP:RED"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    observable = models.ForeignKey(Observable, on_delete=models.CASCADE, related_name="case_attributes")
    ioc = models.BooleanField(default=False, help_text="An indicator of compromise in this case.")
    sighted = models.BooleanField(default=False, help_text="Seen in the environment (not only reported).")
    sighted_at = models.DateTimeField(null=True, blank=True)
    tlp = models.CharField(max_length=16, choices=Tlp.choices, default=Tlp.AMBER)
    tags = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "observable"], name="case_observable_unique")]
        # The observable page and "IOCs across cases" read by observable.
        indexes = [models.Index(fields=["observable", "ioc"])]

    def __str__(self):
        return f"case #{self.case_id}: observable #{self.observable_id}"


class ObservableType(models.Model):
    """A kind of observable analysts may add to a case. The built-in eight (``ENTITY_TYPES``,
    seeded by migration 0013) keep their normalisation (alerts.normalization.make_observable);
    admins add their own (e.g. "registry_key", "cve") with an optional regex every value must
    match (alerts.observable_services.clean_observable)."""

    key = models.SlugField(max_length=OBSERVABLE_TYPE_MAX_LENGTH, unique=True,
                           help_text='Stored on the observable, e.g. "cve"; cannot be changed once in use.')
    label = models.CharField(max_length=100)
    validation_regex = models.CharField(
        max_length=500, blank=True,
        help_text=r"A value must match it entirely (Python syntax), e.g. CVE-\d{4}-\d{4,}; empty: any text.")
    description = models.CharField(max_length=255, blank=True)
    built_in = models.BooleanField(default=False, editable=False)
    active = models.BooleanField(default=True, help_text="Offered when adding observables by hand.")

    class Meta:
        ordering = ["-built_in", "key"]

    def __str__(self):
        return self.label or self.key

    def clean(self):
        if self.validation_regex:
            try:
                re.compile(self.validation_regex)
            except re.error as exc:
                raise ValidationError({"validation_regex": f"Not a valid regular expression: {exc}."})
