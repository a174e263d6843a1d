"""Recompute the dashboard's alert sums from the alerts (PostgreSQL; a no-op on SQLite).

Run once after migrating a populated database, or to repair the sums; new writes keep them
current by themselves (triggers plus the fold task)."""

from django.core.management.base import BaseCommand

from reporting.rollup_services import rebuild_alert_rollups


class Command(BaseCommand):
    help = "Recompute the dashboard's alert sums from the alerts table."

    def handle(self, *args, **options):
        result = rebuild_alert_rollups()
        self.stdout.write(f"Summed {result['alerts']} alerts in {result['seconds']:.1f} s.")
