"""Enrichment: provider configuration, results (evidence), the lookup cache, rate-limit state,
local threat intelligence, the internal blocklist, the asset/identity inventory and the rules
that let evidence raise a case's severity or confidence."""

from django.db import models

from alerts.normalization import ENTITY_TYPE_CHOICES
from cases.vocabulary import SEVERITY_CHOICES


class Verdict(models.TextChoices):
    MALICIOUS = "malicious", "Malicious"
    SUSPICIOUS = "suspicious", "Suspicious"
    BENIGN = "benign", "Benign"
    UNKNOWN = "unknown", "Unknown"


class ProviderConfig(models.Model):
    """Admin-side settings of one registered provider. Offline providers run without a row;
    network connectors need one that is enabled and has a base URL."""

    provider = models.CharField(max_length=64, unique=True, help_text="Key of the provider in the registry.")
    enabled = models.BooleanField(default=True)
    # Never logged and never shown in list views; the admin form does not echo it back.
    api_key = models.CharField(max_length=512, blank=True)
    base_url = models.CharField(max_length=500, blank=True)
    timeout_seconds = models.FloatField(default=10.0)
    rate_limit_per_minute = models.PositiveIntegerField(default=60, help_text="0 means unlimited.")
    cache_ttl_seconds = models.PositiveIntegerField(default=3600, help_text="0 disables caching.")
    max_retries = models.PositiveSmallIntegerField(default=2, help_text="Retries on 429/5xx/timeouts.")
    options = models.JSONField(default=dict, blank=True, help_text="Provider-specific options (see README).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider"]
        verbose_name = "provider configuration"

    def __str__(self):
        return self.provider


class EnrichmentResult(models.Model):
    """One provider's answer about one observable: the evidence shown on the case."""

    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="enrichment_results")
    observable = models.ForeignKey("alerts.Observable", on_delete=models.CASCADE, related_name="enrichment_results")
    provider = models.CharField(max_length=64, db_index=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.UNKNOWN)
    score = models.PositiveSmallIntegerField(default=0)
    summary = models.CharField(max_length=1000, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    from_cache = models.BooleanField(default=False)
    fetched_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "provider", "observable"])]

    def __str__(self):
        return f"{self.provider} {self.observable}: {self.error and 'error' or self.verdict}"

    @property
    def failed(self) -> bool:
        return bool(self.error)


class CachedLookup(models.Model):
    """Last successful answer per (provider, observable), reused until ``expires_at``. A table
    rather than the Django cache so that every worker process shares it."""

    provider = models.CharField(max_length=64)
    observable = models.ForeignKey("alerts.Observable", on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    score = models.PositiveSmallIntegerField(default=0)
    summary = models.CharField(max_length=1000, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "observable"], name="cachedlookup_unique")]

    def __str__(self):
        return f"{self.provider} {self.observable_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class RateLimitBucket(models.Model):
    """Token bucket per provider, shared by every process through a locked row."""

    provider = models.CharField(max_length=64, unique=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"{self.provider}: {self.tokens:.1f} tokens"


class Indicator(models.Model):
    """Local threat intelligence imported from CSV or STIX 2.1 bundles."""

    type = models.CharField(max_length=16, choices=ENTITY_TYPE_CHOICES)
    value = models.CharField(max_length=2048)
    source = models.CharField(max_length=100, default="local")
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.MALICIOUS)
    confidence = models.PositiveSmallIntegerField(default=75)
    description = models.TextField(blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=200, blank=True, help_text="STIX id, when imported from a bundle.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["type", "value"]
        constraints = [models.UniqueConstraint(fields=["type", "value", "source"], name="indicator_unique")]
        indexes = [models.Index(fields=["type", "value"])]

    def __str__(self):
        return f"{self.type}:{self.value[:80]} ({self.source})"


class BlocklistEntry(models.Model):
    """The internal blocklist: enrichment reads it, playbooks write it and publish it as feeds."""

    list_name = models.CharField(max_length=64, default="default", db_index=True)
    obs_type = models.CharField(max_length=16, choices=ENTITY_TYPE_CHOICES)
    value = models.CharField(max_length=2048)
    reason = models.CharField(max_length=500, blank=True)
    added_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["list_name", "obs_type", "value"]
        verbose_name_plural = "blocklist entries"
        constraints = [
            models.UniqueConstraint(fields=["list_name", "obs_type", "value"], name="blocklistentry_unique")
        ]
        indexes = [models.Index(fields=["obs_type", "value"])]

    def __str__(self):
        return f"[{self.list_name}] {self.obs_type}:{self.value[:80]}"


class Asset(models.Model):
    """Internal inventory of hosts and identities: who owns what, and how much it matters."""

    class Kind(models.TextChoices):
        HOST = "host", "Host"
        USER = "user", "User"

    class Criticality(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=255, help_text="Hostname (lower case) or user name.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    email = models.EmailField(blank=True)
    owner = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=150, blank=True)
    criticality = models.CharField(max_length=16, choices=Criticality.choices, default=Criticality.MEDIUM)
    os = models.CharField(max_length=100, blank=True)
    vip = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="asset_unique_kind_name")]

    def __str__(self):
        return f"{self.kind}:{self.name}"


class EnrichmentRule(models.Model):
    """When a result matches (verdict, optional provider, optional observable type), raise the
    case's severity and/or confidence. Only ever raises."""

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    provider = models.CharField(max_length=64, blank=True, help_text="Empty means any provider.")
    observable_type = models.CharField(max_length=16, choices=ENTITY_TYPE_CHOICES, blank=True,
                                       help_text="Empty means any type.")
    min_score = models.PositiveSmallIntegerField(default=0)
    raise_severity_to = models.CharField(max_length=16, choices=SEVERITY_CHOICES, blank=True)
    raise_confidence_to = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class EnrichmentRequest(models.Model):
    """Durable record that a case's observables need automatic enrichment, written in the same
    transaction that puts alerts in the case (alerts.signals.case_alerts_added). At most one
    open request per case: alerts joining while one is open only touch ``requested_at``, and
    the task enriches the case again when that changed while it ran. The beat sweep re-queues
    requests still open ``SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS`` after they were last queued
    (the publish failed, the broker or the worker lost the task)."""

    class Reason(models.TextChoices):
        CASE_OPENED = "case_opened", "Case opened"
        ALERTS_ADDED = "alerts_added", "Alerts added"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="enrichment_requests")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last time alerts were added to the case while this request was open.
    requested_at = models.DateTimeField()
    # Last time a task was published for it (or a publish attempted).
    queued_at = models.DateTimeField()
    # A worker is enriching the case until then (the task's hard time limit); others skip it.
    lease_until = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=models.Q(done_at__isnull=True),
                                               name="enrichmentrequest_one_open_per_case")]
        indexes = [models.Index(fields=["queued_at"], condition=models.Q(done_at__isnull=True),
                                name="enrichmentrequest_open_queued")]

    def __str__(self):
        return f"enrichment of case {self.case_id} ({'done' if self.done_at else 'open'})"
