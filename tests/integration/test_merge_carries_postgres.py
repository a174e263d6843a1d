"""Case merge on real PostgreSQL: the surviving case gains the merged case's techniques,
evidence files and observable flags in the merge's transaction (bulk inserts with ON CONFLICT DO
NOTHING against the unique constraints, a bulk UPDATE of the JSON tags), without duplicates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from alerts.models import CaseObservable
from alerts.observable_services import add_observables_to_case, update_case_observable
from cases import services, techniques
from cases.models import CaseEvent, CaseTechnique
from cases.services_bulk import merge_cases
from enrichment.importers import import_attack_bundle
from evidence import services as evidence_services
from evidence.models import EvidenceFile
from tests.attack.conftest import SUBSET
from tests.factories import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_merge_carries_techniques_evidence_and_flags_once(settings, tmp_path):
    assert connection.vendor == "postgresql"
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "evidence"), "base_url": None}}}
    import_attack_bundle(SUBSET.read_text())
    w = build_world()
    source = services.open_case(title="Duplicate", severity="low", team=w.blue)
    target = w.blue_case
    techniques.add_technique(source, "T1059.001", actor=w.mate)
    techniques.add_technique(source, "T1110", actor=w.mate)
    techniques.add_technique(target, "T1110", actor=w.analyst)
    for case, name in ((source, "a.txt"), (source, "b.txt"), (target, "b-again.txt")):
        content = b"only in the merged case" if name == "a.txt" else b"in both cases"
        evidence_services.upload_evidence(case, SimpleUploadedFile(name, content), actor=w.analyst)
    only, both = add_observables_to_case(source, [("ip", "203.0.113.9"), ("domain", "evil.example")])
    add_observables_to_case(target, [("domain", "evil.example")])
    seen = timezone.now() - timedelta(hours=2)
    update_case_observable(source, only.pk, actor=w.analyst, ioc=True, tags=["c2"])
    update_case_observable(source, both.pk, actor=w.analyst, sighted=True, sighted_at=seen, tags=["kit"])
    update_case_observable(target, both.pk, actor=w.analyst, tags=["phish"])

    merge_cases(source, target, actor=w.analyst)

    assert {(link.technique.external_id, link.source, link.added_by_id)
            for link in CaseTechnique.objects.filter(case=target).select_related("technique")} == {
        ("T1059.001", "manual", w.mate.pk), ("T1110", "manual", w.analyst.pk)}
    assert sorted(EvidenceFile.objects.filter(case_id=target.pk).values_list("name", flat=True)) == [
        "a.txt", "b-again.txt"]
    rows = {row.observable_id: row for row in CaseObservable.objects.filter(case_id=target.pk)}
    assert rows[only.pk].ioc and rows[only.pk].tags == ["c2"]
    assert rows[both.pk].sighted and rows[both.pk].sighted_at == seen and rows[both.pk].tags == ["phish", "kit"]
    event = CaseEvent.objects.filter(case=target, kind=CaseEvent.Kind.MERGED).latest("pk")
    assert (event.data["techniques"], event.data["evidence_files"], event.data["observable_flags"]) == (1, 1, 2)
