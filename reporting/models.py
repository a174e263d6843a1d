"""The alert figures of the dashboard, pre-aggregated (PostgreSQL).

These models moved here from the cases app with their tables (migration reporting/0001 and
cases/0011 change only Django's state): their table names, the triggers that fill them
(cases/0005) and the rows are unchanged."""

from datetime import date

from django.db import models

# Counting a million alerts per dashboard view costs seconds, so the alert figures are read
# from these sums instead. Database triggers (migration cases/0005, on the tables these models
# keep) append one signed row to AlertRollupDelta for every insert, delete or figure-relevant
# change of an alert, and for every alert of a case whose team changes; the fold task adds the
# deltas into the sums.
# Readers add the not-yet-folded deltas, so the figures are exact at any moment. team_id and
# source ids are plain integers (0: none) so that the unique keys have no NULLs.

class AlertRollupDelta(models.Model):
    """+1/-1 for one alert under its visibility key; append-only, so writers never wait."""

    received_at = models.DateTimeField()
    team_id = models.IntegerField(help_text="Team of the alert's case; 0: queued or a case without team.")
    queued = models.BooleanField(help_text="In no case: visible through its source's default team.")
    source_id = models.IntegerField()
    severity = models.CharField(max_length=16)
    entity_type = models.CharField(max_length=16)
    entity_value = models.CharField(max_length=2048)
    change = models.SmallIntegerField()

    class Meta:
        db_table = "cases_alertrollupdelta"

    def __str__(self):
        return f"{self.change:+d} alert at {self.received_at:%Y-%m-%d %H:%M}"


class AlertHourRollup(models.Model):
    """Alerts per UTC hour, visibility key, source and severity."""

    hour = models.DateTimeField()
    team_id = models.IntegerField()
    queued = models.BooleanField()
    source_id = models.IntegerField()
    severity = models.CharField(max_length=16)
    alerts = models.BigIntegerField(default=0)

    class Meta:
        db_table = "cases_alerthourrollup"
        constraints = [models.UniqueConstraint(fields=["hour", "team_id", "queued", "source_id", "severity"],
                                               name="alert_hour_rollup_key")]

    def __str__(self):
        return f"{self.alerts} alerts at {self.hour:%Y-%m-%d %H}h"


class AlertEntityRollup(models.Model):
    """Alerts per entity and visibility key, per UTC day, and over all time (day ALL_TIME): the
    all-time rows let a range that covers most of the data be read as total minus outside."""

    ALL_TIME = date(1, 1, 1)

    day = models.DateField()
    team_id = models.IntegerField()
    queued_source_id = models.IntegerField(help_text="Source of queued alerts; 0 for alerts in a case.")
    entity_type = models.CharField(max_length=16)
    entity_value = models.CharField(max_length=2048)
    # md5 of the value: a 2 kB value does not fit a btree key.
    entity_hash = models.CharField(max_length=32)
    alerts = models.BigIntegerField(default=0)

    class Meta:
        db_table = "cases_alertentityrollup"
        constraints = [models.UniqueConstraint(
            fields=["day", "team_id", "queued_source_id", "entity_type", "entity_hash"],
            name="alert_entity_rollup_key")]
        indexes = [models.Index(fields=["day"], name="alert_entity_rollup_day")]

    def __str__(self):
        return f"{self.alerts} alerts of {self.entity_type}:{self.entity_value[:80]} on {self.day}"
