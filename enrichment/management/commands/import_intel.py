from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enrichment.importers import (
    ImportProblem,
    import_attack_bundle,
    is_attack_bundle,
    parse_intel_csv,
    parse_stix_bundle,
    save_indicators,
)
from enrichment.management.commands._files import read_text_file


class Command(BaseCommand):
    help = ("Import threat-intel indicators from a CSV file (type,value[,verdict,confidence,description,valid_until]) "
            "or a STIX 2.1 bundle (indicator objects with equality patterns, possibly OR'ed; others are skipped). "
            "A MITRE ATT&CK bundle (enterprise-attack.json: x-mitre-tactic / attack-pattern objects) is imported "
            "as the ATT&CK catalogue instead (detected, or forced with --attack).")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=["csv", "stix"], help="Default: from the file extension.")
        parser.add_argument("--source", default="", help="Source name stored on each indicator (default: file name).")
        parser.add_argument("--attack", action="store_true",
                            help="The file is the MITRE ATT&CK enterprise-attack STIX bundle: import the catalogue.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        fmt = options["format"] or ("stix" if path.suffix.lower() == ".json" else "csv")
        text = read_text_file(path)
        try:
            if options["attack"] or (fmt == "stix" and is_attack_bundle(text)):
                return self._import_attack(path, text)
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

    def _import_attack(self, path: Path, text: str) -> None:
        result, skipped, relinked = import_attack_bundle(text)
        for reason in skipped:
            self.stderr.write(reason)
        self.stdout.write(self.style.SUCCESS(
            f"Imported the ATT&CK catalogue from {path.name}: tactics {result.tactics_created} new, "
            f"{result.tactics_updated} updated; techniques {result.techniques_created} new, "
            f"{result.techniques_updated} updated; {relinked} stored alert(s) linked to newly known techniques."))
