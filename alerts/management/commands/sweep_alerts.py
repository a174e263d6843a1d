from django.core.management.base import BaseCommand

from alerts.outbox import sweep_unprocessed_alerts


class Command(BaseCommand):
    help = "Re-dispatch alerts still waiting for processing (what the periodic sweep does)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=None,
                            help="Seconds since arrival (default: SOAR_SWEEP_AFTER_SECONDS).")

    def handle(self, *args, older_than, **options):
        count = sweep_unprocessed_alerts(older_than_seconds=older_than)
        self.stdout.write(f"{count} alert(s) re-dispatched for processing.")
