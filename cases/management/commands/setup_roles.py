from django.core.management.base import BaseCommand

from cases.roles_setup import ensure_roles


class Command(BaseCommand):
    help = "Create the role groups (admin, lead, analyst, auditor) with their permissions. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Make each group's permissions exactly the defaults (drops manual additions).")

    def handle(self, *args, reset=False, **options):
        for role, count in ensure_roles(reset=reset).items():
            self.stdout.write(f"role {role}: {count} permissions")
