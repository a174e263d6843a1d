from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrichment.importers import ImportProblem, parse_assets_csv, save_assets
from enrichment.management.commands._files import read_text_file


class Command(BaseCommand):
    help = ("Import the asset/identity inventory from CSV: "
            "kind,name[,owner,department,criticality,os,vip,ip_address,email] (kind is host or user).")

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **options):
        path = Path(options["file"])
        text = read_text_file(path)
        try:
            rows = parse_assets_csv(text)
        except ImportProblem as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.")
        created, updated = save_assets(rows)
        self.stdout.write(self.style.SUCCESS(f"Imported {len(rows)} asset(s): {created} new, {updated} updated."))
