"""Pull connectors: where Mini-SOAR fetches detection alerts itself (SIEMs that do not push)."""

from django.db import models

CREDENTIAL_HELP = "API key, token or password; write-only: never displayed or logged."


class PullConnector(models.Model):
    """One alert query on a SIEM, run every ``interval_seconds``, one bounded page per run. The
    cursor is committed in the transaction that stores the page's alerts (connectors.services)."""

    class Kind(models.TextChoices):
        ELASTICSEARCH = "elasticsearch", "Elasticsearch / OpenSearch (search_after + PIT)"
        SPLUNK = "splunk", "Splunk (search jobs REST API)"
        WAZUH_INDEXER = "wazuh_indexer", "Wazuh indexer (wazuh-alerts-*)"
        GENERIC_JSON = "generic_json", "Generic JSON over HTTP"
        IMAP = "imap", "IMAP mailbox (reported phishing)"

    name = models.SlugField(max_length=64, unique=True, help_text="The metrics' connector label.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    endpoint = models.CharField(max_length=500, help_text="Base URL, e.g. https://es.example.com:9200 or "
                                "https://splunk.example.com:8089 (generic JSON: the full URL of the list; "
                                "IMAP: imaps://mail.example.com:993 or imap://mail.example.com:143 for STARTTLS).")
    username = models.CharField(max_length=200, blank=True,
                                help_text="Set for HTTP basic auth; empty: the secret is sent as a token. "
                                "IMAP: the mailbox's log-in (the secret is its app password).")
    secret = models.CharField(max_length=1000, blank=True, help_text=CREDENTIAL_HELP)
    query = models.TextField(blank=True, help_text="Elasticsearch/Wazuh: a query DSL object (JSON); Splunk: the "
                             "SPL search; generic JSON: extra query parameters (JSON object).")
    options = models.JSONField(default=dict, blank=True, help_text="Kind-specific options (see the admin guide).")
    source = models.ForeignKey("alerts.AlertSource", on_delete=models.PROTECT, related_name="pull_connectors",
                               help_text="Its adapter parses each record; its team receives the cases.")
    interval_seconds = models.PositiveIntegerField(default=60)
    page_size = models.PositiveIntegerField(default=200, help_text="Records per run (IMAP: messages per run).")
    timeout_seconds = models.FloatField(default=15.0)

    # Where the next run continues (kind-specific: sort values, time window, job id...).
    cursor = models.JSONField(default=dict, blank=True,
                              help_text="Where the next run continues. Empty: start again from the beginning.")

    # Status, written by every run.
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    lag_seconds = models.FloatField(null=True, blank=True,
                                    help_text="How far behind the source the cursor is (0: caught up).")
    last_run_records = models.PositiveIntegerField(default=0)
    records_fetched_total = models.PositiveBigIntegerField(default=0)
    records_rejected_total = models.PositiveBigIntegerField(default=0)
    alerts_created_total = models.PositiveBigIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_warning = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True,
                                       help_text="Not run before this (schedule, or back-off after failures).")
    # The run in progress: no second run starts while the lease is held (connectors.services).
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="pullconnector_due_idx")]

    def __str__(self):
        return self.name
