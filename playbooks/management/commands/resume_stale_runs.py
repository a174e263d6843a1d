from django.core.management.base import BaseCommand

from playbooks.services.runs import resume_stale_runs


class Command(BaseCommand):
    help = ("Re-queue playbook runs whose worker stopped heartbeating (killed worker, lost message); "
            "also a beat task every SOAR_PLAYBOOK_SWEEP_INTERVAL_SECONDS.")

    def handle(self, *args, **options):
        ids = resume_stale_runs()
        self.stdout.write(f"re-queued {len(ids)} run(s){': ' + ', '.join(map(str, ids)) if ids else ''}")
