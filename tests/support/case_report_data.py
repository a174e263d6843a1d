"""Builders for the case report tests (tests/reporting/test_case_report*.py): a case with every
section filled, and bulk rows for the query-count test."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts.models import CaseObservable, Observable
from cases import services as case_services
from cases import tasks as case_tasks
from cases.models import Case, CaseEvent, CaseTask, Note
from enrichment import services as enrichment_services
from enrichment.models import EnrichmentResult
from evidence import services as evidence_services
from evidence.models import EvidenceFile

EVIDENCE_BYTES = b"%PDF-1.7\n" + b"phishing attachment " * 50 + b"\n%%EOF\n"
TITLE = 'Invoice "phish" wave / \u00dcn\u00efcode\r\nX-Header: 1'


def observable(obs_type: str, value: str) -> Observable:
    found, _ = Observable.objects.get_or_create(type=obs_type, value_hash=Observable.digest(value),
                                                defaults={"value": value})
    return found


def full_case(w) -> Case:
    """A resolved Blue case (TLP:RED, PAP:GREEN) with an assignee, a task done by someone else and
    an open one, a flagged observable with a verdict and a blocklist entry, an evidence file and a note."""
    case = case_services.open_case(title=TITLE, severity="high", team=w.blue,
                                   description="Mail with **macro** <script>alert(1)</script>")
    Case.objects.filter(pk=case.pk).update(tlp="RED", pap="GREEN")
    case.refresh_from_db()
    case_services.assign_case(case, w.analyst, actor=w.analyst)
    done = case_tasks.add_task(case, title="Collect headers", actor=w.analyst, group="Identification")
    case_tasks.update_task(done, actor=w.mate, status="done")
    case_tasks.add_task(case, title="Block sender domain", actor=w.analyst, assignee=w.mate)
    domain = observable("domain", "evil-invoices.example")
    case.observables.add(domain)
    CaseObservable.objects.create(case_id=case.pk, observable=domain, ioc=True, sighted=True,
                                  sighted_at=timezone.now(), tlp="red", tags=["phishing"], description="sender domain")
    EnrichmentResult.objects.create(case=case, observable=domain, provider="virustotal", verdict="malicious",
                                    score=90, fetched_at=timezone.now())
    enrichment_services.add_to_blocklist("mail", "domain", "evil-invoices.example", reason="phish", actor_label="t")
    evidence_services.upload_evidence(case, SimpleUploadedFile("invoice.pdf", EVIDENCE_BYTES), actor=w.analyst,
                                      description="the attachment")
    case_services.add_note(case, "Header **From** spoofed.\n\n<script>alert(2)</script>", actor=w.analyst)
    case_services.resolve_case(case, resolution="true-positive", summary="Credential phishing, contained.",
                               actor=w.analyst)
    case.refresh_from_db()
    return case


def add_rows(case: Case, user, count: int, *, start: int) -> None:
    """``count`` more tasks, notes, observables (with attributes and verdicts), evidence rows and
    timeline entries on ``case``, written directly (the services' own costs are not under test)."""
    now = timezone.now()
    CaseTask.objects.bulk_create(
        CaseTask(case=case, title=f"Task {start + i}", position=start + i, assignee=user, status="done",
                 completed_by=user, completed_at=now, due_at=now + dt.timedelta(hours=1)) for i in range(count))
    Note.objects.bulk_create(Note(case=case, author=user, body=f"note **{start + i}**") for i in range(count))
    observables = [observable("ip", f"198.51.{(start + i) // 250}.{(start + i) % 250 + 1}") for i in range(count)]
    case.observables.add(*observables)
    CaseObservable.objects.bulk_create(CaseObservable(case_id=case.pk, observable=o, ioc=True, updated_by=user)
                                       for o in observables)
    EnrichmentResult.objects.bulk_create(EnrichmentResult(case=case, observable=o, provider="p", verdict="benign",
                                                          fetched_at=now) for o in observables)
    EvidenceFile.objects.bulk_create(
        EvidenceFile(case=case, file=f"x/{start + i}", name=f"file-{start + i}.bin", size=10,
                     content_type="application/octet-stream", sha256=f"{start + i:064x}", sha1=f"{start + i:040x}",
                     md5=f"{start + i:032x}", uploaded_by=user) for i in range(count))
    CaseEvent.objects.bulk_create(CaseEvent(case=case, kind="note", actor=user, message=f"event {start + i}")
                                  for i in range(count))
