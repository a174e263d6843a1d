from django.core.management.base import BaseCommand

from playbooks.services.approvals import expire_due


class Command(BaseCommand):
    help = "Close approval requests past their expiry; their runs end as denied (also a beat task)."

    def handle(self, *args, **options):
        self.stdout.write(f"expired {expire_due()} approval request(s)")
