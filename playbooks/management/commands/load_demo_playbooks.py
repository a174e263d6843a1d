from pathlib import Path

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from playbooks.models import Playbook
from playbooks.schema import DefinitionError, parse
from playbooks.services.definitions import save_playbook

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"


class Command(BaseCommand):
    help = "Create the example playbooks (phishing triage, host containment, manual escalation); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--enable", action="store_true", help="Enable them (they are created disabled).")

    def handle(self, *args, enable=False, **options):
        Group.objects.get_or_create(name="lead")  # the approver group of the containment playbook
        for path in sorted(DEMO_DIR.glob("*.yaml")):
            text = path.read_text()
            existing = None
            try:
                existing = Playbook.objects.filter(name=parse(text)["name"]).first()
                playbook = save_playbook(definition_text=text, playbook=existing, enabled=enable if existing is None
                                         else (existing.enabled or enable), fmt="yaml")
            except DefinitionError as exc:
                raise CommandError(f"{path.name}: {exc}")
            verb = "updated" if existing else "created"
            self.stdout.write(f"{verb} playbook '{playbook.name}' v{playbook.version} "
                              f"({'enabled' if playbook.enabled else 'disabled'})")
