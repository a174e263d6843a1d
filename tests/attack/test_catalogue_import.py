"""Importing the enterprise-attack STIX bundle (a subset cut from mitre/cti, ATT&CK v18.1):
counts, matrix order, sub-technique parents, tactics, revoked/deprecated flags, idempotent
re-import, and the import_intel command's detection of an ATT&CK bundle."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from attack import selectors as attack_selectors
from attack.models import Tactic, Technique
from attack.stix import parse_attack_objects
from enrichment.importers import ImportProblem, import_attack_bundle
from tests.attack.conftest import SUBSET

pytestmark = pytest.mark.django_db

ENTERPRISE_ORDER = ["TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005", "TA0006", "TA0007",
                    "TA0008", "TA0009", "TA0011", "TA0010", "TA0040"]


def test_import_counts_and_matrix_order(catalogue):
    assert (catalogue.tactics_created, catalogue.techniques_created) == (14, 17)
    assert list(attack_selectors.matrix_tactics().values_list("external_id", flat=True)) == ENTERPRISE_ORDER
    execution = Tactic.objects.get(external_id="TA0002")
    assert (execution.shortname, execution.name) == ("execution", "Execution")


def test_sub_technique_has_its_parent_and_tactics(catalogue):
    powershell = Technique.objects.get(external_id="T1059.001")
    assert powershell.name == "PowerShell"
    assert powershell.is_subtechnique and powershell.parent.external_id == "T1059"
    assert set(powershell.tactics.values_list("shortname", flat=True)) == {"execution"}
    assert powershell.link == "https://attack.mitre.org/techniques/T1059/001"
    assert powershell.stix_id.startswith("attack-pattern--")
    brute = Technique.objects.get(external_id="T1110")
    assert not brute.is_subtechnique and brute.parent is None
    assert set(brute.subtechniques.values_list("external_id", flat=True)) == {"T1110.001"}
    assert set(Technique.objects.get(external_id="T1068").tactics.values_list("shortname", flat=True)) == {
        "privilege-escalation"}


def test_revoked_and_deprecated_ones_are_flagged_and_not_offered(catalogue):
    revoked = Technique.objects.get(external_id="T1086")  # PowerShell, revoked by T1059.001
    assert revoked.revoked and not revoked.deprecated
    deprecated = Technique.objects.get(external_id="T1064")  # Scripting
    assert deprecated.deprecated
    offered = set(attack_selectors.technique_choices().values_list("external_id", flat=True))
    assert "T1086" not in offered and "T1064" not in offered and "T1059.001" in offered


def test_reimport_is_idempotent(catalogue):
    before = {t.external_id: (t.pk, t.parent_id, t.name) for t in Technique.objects.all()}
    links = Technique.tactics.through.objects.count()
    again, _, _ = import_attack_bundle(SUBSET.read_text())
    assert (again.tactics_created, again.techniques_created) == (0, 0)
    assert (again.tactics_updated, again.techniques_updated) == (14, 17)
    assert again.new_external_ids == []
    assert {t.external_id: (t.pk, t.parent_id, t.name) for t in Technique.objects.all()} == before
    assert Technique.tactics.through.objects.count() == links


def test_a_current_object_wins_over_a_revoked_one_with_the_same_id():
    bundle = json.loads(SUBSET.read_text())
    current = next(o for o in bundle["objects"] if o.get("name") == "Brute Force")
    stale = {**current, "id": "attack-pattern--00000000-0000-4000-8000-000000000000", "revoked": True,
             "name": "Old brute force"}
    parsed = parse_attack_objects([stale, current])
    assert [(t.external_id, t.name, t.revoked) for t in parsed.techniques] == [("T1110", "Brute Force", False)]


def test_import_intel_detects_the_attack_bundle(tmp_path, capsys):
    call_command("import_intel", str(SUBSET))
    assert "techniques 17 new" in capsys.readouterr().out
    assert Technique.objects.count() == 17
    call_command("import_intel", str(SUBSET), "--attack")
    assert "techniques 0 new, 17 updated" in capsys.readouterr().out


def test_a_bundle_without_attack_objects_is_refused_with_a_message(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"type": "bundle", "id": "bundle--x", "objects": []}))
    with pytest.raises(CommandError, match="no ATT&CK tactic or technique"):
        call_command("import_intel", str(empty), "--attack")
    with pytest.raises(ImportProblem):
        import_attack_bundle("not json")
    assert Technique.objects.count() == 0
