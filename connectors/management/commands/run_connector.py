"""``manage.py run_connector NAME [--once]``: run a pull connector from the command line."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from connectors import selectors, services
from soar.errors import NotFound


class Command(BaseCommand):
    help = ("Run the pull connector NAME: with --once, fetch and store one page now (even if not due, "
            "never while another run holds it); otherwise keep running it on its schedule until interrupted.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--once", action="store_true", help="One page, now, then exit.")

    def handle(self, *args, **options):
        try:
            connector = selectors.connector_by_name(options["name"])
        except NotFound as exc:
            raise CommandError(str(exc))
        if not connector.enabled:
            raise CommandError(f"The pull connector {connector.name!r} is disabled.")
        if options["once"]:
            result = self._run(connector.pk, ignore_schedule=True)
            if result.status == "failed":
                raise CommandError(result.error)
            return
        try:
            while True:
                result = self._run(connector.pk, ignore_schedule=False)
                if not result.more:
                    connector.refresh_from_db(fields=["next_run_at"])
                    wait = (connector.next_run_at - timezone.now()).total_seconds() if connector.next_run_at else 1
                    time.sleep(min(max(wait, 1.0), 60.0))
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _run(self, connector_id: int, *, ignore_schedule: bool) -> services.RunResult:
        result = services.run_connector(connector_id, ignore_schedule=ignore_schedule)
        if result.status == "ok":
            self.stdout.write(f"ok: {result.records} record(s), {result.created} new alert(s), "
                              f"{result.rejected} skipped{', more waiting' if result.more else ''}")
        elif result.status == "failed":
            self.stderr.write(f"failed: {result.error}")
        else:
            self.stdout.write("skipped: another run holds the connector, or it is not due")
        return result
