"""Merging cases: the surviving case gains the merged case's ATT&CK techniques (an analyst's,
with who added them), its evidence files and its observable flags, without duplicates, in the
merge's transaction (a refused merge carries nothing); the timeline entry counts them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts.models import CaseObservable, Observable
from alerts.observable_services import add_observables_to_case, update_case_observable
from attack.selectors import find_technique
from cases import services, techniques
from cases.models import Case, CaseEvent, CaseTechnique
from cases.services_bulk import merge_cases
from cases.signals import case_merging
from evidence import services as evidence_services
from evidence.models import EvidenceFile
from tests.attack.conftest import catalogue  # noqa: F401  (the fixture: the shipped ATT&CK subset)
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(settings, tmp_path, catalogue):  # noqa: F811
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "evidence"), "base_url": None}}}
    w = build_world()
    w.source = services.open_case(title="Duplicate of the phishing wave", severity="low", team=w.blue)
    w.target = w.blue_case
    return w


def upload(case, content: bytes, name: str, actor):
    return evidence_services.upload_evidence(case, SimpleUploadedFile(name, content), actor=actor, description=name)


def links(case) -> dict[str, tuple[str, int | None]]:
    return {link.technique.external_id: (link.source, link.added_by_id)
            for link in CaseTechnique.objects.filter(case=case).select_related("technique")}


def test_manual_techniques_of_the_merged_case_are_carried_once(w):
    techniques.add_technique(w.source, "T1059.001", actor=w.mate)
    techniques.add_technique(w.source, "T1110", actor=w.mate)
    techniques.add_technique(w.target, "T1110", actor=w.analyst)  # already on the target
    techniques.add_alert_techniques({(w.source.pk, find_technique("T1190").pk)})  # from one of its alerts

    merge_cases(w.source, w.target, actor=w.analyst)

    carried = links(w.target)
    assert carried["T1059.001"] == ("manual", w.mate.pk)  # who added it is kept
    assert carried["T1190"] == ("alert", None)
    assert carried["T1110"] == ("manual", w.analyst.pk)  # the target's own link, not a second one
    assert CaseTechnique.objects.filter(case=w.target, technique__external_id="T1110").count() == 1
    assert set(links(w.source)) >= {"T1059.001", "T1110"}  # the merged case still reads as it was
    event = CaseEvent.objects.filter(case=w.target, kind=CaseEvent.Kind.MERGED).latest("pk")
    assert event.data["techniques"] == 2
    assert "2 techniques" in event.message


def test_evidence_files_are_carried_without_duplicates_and_stay_downloadable(w):
    shared = b"%PDF-1.7\n" + b"x" * 200 + b"\n%%EOF\n"
    only_source = upload(w.source, b"dump of the mailbox", "mailbox.txt", w.analyst)
    upload(w.source, shared, "report.pdf", w.analyst)
    upload(w.target, shared, "same-report.pdf", w.analyst)  # the target holds these bytes already
    earlier = timezone.now() - timedelta(days=3)
    EvidenceFile.objects.filter(pk=only_source.pk).update(uploaded_at=earlier)

    merge_cases(w.source, w.target, actor=w.analyst)

    on_target = EvidenceFile.objects.filter(case_id=w.target.pk)
    assert sorted(on_target.values_list("name", flat=True)) == ["mailbox.txt", "same-report.pdf"]
    carried = on_target.get(name="mailbox.txt")
    assert (carried.sha256, carried.size, carried.uploaded_by_id) == (only_source.sha256, only_source.size,
                                                                    w.analyst.pk)
    assert carried.uploaded_at == earlier
    with evidence_services.open_for_download(carried, actor=w.analyst) as handle:
        assert handle.read() == b"dump of the mailbox"
    assert EvidenceFile.objects.filter(case_id=w.source.pk).count() == 2  # nothing taken from the merged case
    event = CaseEvent.objects.filter(case=w.target, kind=CaseEvent.Kind.MERGED).latest("pk")
    assert event.data["evidence_files"] == 1


def test_observable_flags_are_carried_and_combined_not_duplicated(w):
    now = timezone.now()
    only_source, both = add_observables_to_case(w.source, [("ip", "203.0.113.9"), ("domain", "evil.example")])
    add_observables_to_case(w.target, [("domain", "evil.example")])
    update_case_observable(w.source, only_source.pk, actor=w.analyst, ioc=True, tlp="red", tags=["c2"],
                           description="beacon target")
    update_case_observable(w.source, both.pk, actor=w.analyst, sighted=True, sighted_at=now - timedelta(hours=5),
                           tlp="amber+strict", tags=["phish", "kit"])
    update_case_observable(w.target, both.pk, actor=w.analyst, ioc=True, tlp="green", tags=["phish"],
                           description="sender domain")

    merge_cases(w.source, w.target, actor=w.analyst)

    rows = {row.observable_id: row for row in CaseObservable.objects.filter(case_id=w.target.pk)}
    assert len(rows) == 2 == CaseObservable.objects.filter(case_id=w.target.pk).count()
    new = rows[only_source.pk]
    assert (new.ioc, new.tlp, new.tags, new.description) == (True, "red", ["c2"], "beacon target")
    combined = rows[both.pk]
    assert combined.ioc and combined.sighted and combined.sighted_at == now - timedelta(hours=5)
    assert combined.tlp == "amber+strict"  # the stricter of green and amber+strict
    assert combined.tags == ["phish", "kit"] and combined.description == "sender domain"
    assert CaseObservable.objects.filter(case_id=w.source.pk).count() == 2  # the merged case keeps its rows
    assert Observable.objects.filter(cases=w.target.pk, pk=only_source.pk).exists()
    event = CaseEvent.objects.filter(case=w.target, kind=CaseEvent.Kind.MERGED).latest("pk")
    assert event.data["observable_flags"] == 2


def test_a_refused_merge_carries_nothing(w):
    techniques.add_technique(w.source, "T1110", actor=w.analyst)
    upload(w.source, b"evidence", "e.txt", w.analyst)
    [obs] = add_observables_to_case(w.source, [("ip", "203.0.113.10")])
    update_case_observable(w.source, obs.pk, actor=w.analyst, ioc=True)
    with pytest.raises(services.NotAllowed):
        merge_cases(w.source, w.red_case, actor=w.analyst)  # the Blue analyst cannot change the Red case
    assert not CaseTechnique.objects.filter(case=w.red_case).exists()
    assert not EvidenceFile.objects.filter(case_id=w.red_case.pk).exists()
    assert not CaseObservable.objects.filter(case_id=w.red_case.pk).exists()


def test_merging_twice_into_the_same_case_adds_nothing_twice(w):
    techniques.add_technique(w.source, "T1110", actor=w.analyst)
    upload(w.source, b"evidence", "e.txt", w.analyst)
    other = services.open_case(title="Third", severity="low", team=w.blue)
    techniques.add_technique(other, "T1110", actor=w.analyst)
    upload(other, b"evidence", "copy.txt", w.analyst)
    merge_cases(w.source, w.target, actor=w.analyst)
    merge_cases(other, w.target, actor=w.analyst)
    assert CaseTechnique.objects.filter(case=w.target, technique__external_id="T1110").count() == 1
    assert list(EvidenceFile.objects.filter(case_id=w.target.pk).values_list("name", flat=True)) == ["e.txt"]


def test_a_receiver_failing_mid_merge_undoes_everything_carried(w):
    techniques.add_technique(w.source, "T1110", actor=w.analyst)
    upload(w.source, b"evidence", "e.txt", w.analyst)

    def fails(**kwargs):
        raise RuntimeError("storage unavailable")

    case_merging.connect(fails, dispatch_uid="test.fails")
    try:
        with pytest.raises(RuntimeError):
            merge_cases(w.source, w.target, actor=w.analyst)
    finally:
        case_merging.disconnect(dispatch_uid="test.fails")
    assert "T1110" not in links(w.target)
    assert not EvidenceFile.objects.filter(case_id=w.target.pk).exists()
    assert Case.objects.get(pk=w.source.pk).merged_into_id is None
