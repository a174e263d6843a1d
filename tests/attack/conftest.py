"""The shipped ATT&CK subset (tests/fixtures/attack/), imported through the import_intel path."""

from __future__ import annotations

from pathlib import Path

import pytest

from enrichment.importers import import_attack_bundle

SUBSET = Path(__file__).resolve().parent.parent / "fixtures" / "attack" / "enterprise-attack-subset.json"


@pytest.fixture
def catalogue(db):
    result, skipped, _ = import_attack_bundle(SUBSET.read_text())
    return result
