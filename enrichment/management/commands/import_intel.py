from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrichment.importers import ImportProblem, parse_intel_csv, parse_stix_bundle, save_indicators
from enrichment.management.commands._files import read_text_file


class Command(BaseCommand):
    help = ("Import threat-intel indicators from a CSV file (type,value[,verdict,confidence,description,valid_until]) "
            "or a STIX 2.1 bundle (indicator objects with equality patterns, possibly OR'ed; others are skipped).")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=["csv", "stix"], help="Default: from the file extension.")
        parser.add_argument("--source", default="", help="Source name stored on each indicator (default: file name).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        fmt = options["format"] or ("stix" if path.suffix.lower() == ".json" else "csv")
        text = read_text_file(path)
        try:
            if fmt == "stix":
                result = parse_stix_bundle(text)
                items, skipped = result.items, result.skipped
            else:
                items, skipped = parse_intel_csv(text), []
        except ImportProblem as exc:
            raise CommandError(f"{path}: {exc} Nothing was imported.")
        for reason in skipped:
            self.stderr.write(reason)
        source = (options["source"] or path.stem)[:100]
        created, updated = save_indicators(items, source)
        self.stdout.write(self.style.SUCCESS(
            f"Imported {len(items)} indicator(s) from {path.name} as source '{source}': "
            f"{created} new, {updated} updated"
            + (f"; {len(skipped)} indicator(s) skipped (unsupported patterns, listed above)." if skipped else ".")))
