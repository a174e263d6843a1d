from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alerts import retention


class Command(BaseCommand):
    help = ("Delete alerts older than the retention period (SOAR_ALERT_RETENTION_DAYS), with their orphan "
            "observables and empty closed groups, exporting them first to SOAR_RETENTION_EXPORT_DIR when set. "
            "Alerts of open cases and unprocessed alerts are kept; cases are kept.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, default=None,
                            help="Retention in days (default: SOAR_ALERT_RETENTION_DAYS).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, older_than_days, dry_run, **options):
        days = settings.SOAR_ALERT_RETENTION_DAYS if older_than_days is None else older_than_days
        if days <= 0:
            raise CommandError("Retention is off (SOAR_ALERT_RETENTION_DAYS=0): pass --older-than-days N (N >= 1).")
        if dry_run:
            preview = retention.purge_preview(days)
            self.stdout.write(f"{preview.alerts} alert(s) received before {preview.cutoff.isoformat()} would be "
                              f"purged; {preview.kept_in_open_cases} kept (open cases). Nothing deleted.")
            return
        result = retention.purge_expired_alerts(days)
        export = f"exported to {result.export_file}" if result.export_file else "no export"
        self.stdout.write(f"{result.alerts} alert(s) received before {result.cutoff.isoformat()} purged in "
                          f"{result.batches} batch(es), with {result.observables} orphan observable(s) and "
                          f"{result.groups} empty closed group(s); {result.kept_in_open_cases} kept (open cases); "
                          f"{export}.")
