"""On a case merge (cases.signals.case_merging, inside the merge's transaction): the surviving
case gains the merged case's evidence files it does not hold yet (by SHA-256, the same rule as
an upload). The bytes are content-addressed, so a new row points at the stored file: nothing is
copied on disk, and the merged case keeps its own rows (its page still lists what it held)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Value, When

from evidence.models import EvidenceFile


def carry_evidence(source_id: int, target_id: int) -> int:
    """Link the source case's evidence files the target lacks to the target, keeping name,
    description, hashes, uploader and upload time. Returns how many were added."""
    have = set(EvidenceFile.objects.filter(case_id=target_id).values_list("sha256", flat=True))
    missing = [row for row in EvidenceFile.objects.filter(case_id=source_id).order_by("uploaded_at", "pk")
               if row.sha256 not in have]
    EvidenceFile.objects.bulk_create(
        [EvidenceFile(case_id=target_id, file=row.file.name, name=row.name, description=row.description,
                      size=row.size, content_type=row.content_type, sha256=row.sha256, sha1=row.sha1, md5=row.md5,
                      uploaded_by_id=row.uploaded_by_id) for row in missing], ignore_conflicts=True)
    if missing:  # auto_now_add stamped "now"; the file was uploaded when the merged case got it (one UPDATE)
        EvidenceFile.objects.filter(case_id=target_id, sha256__in=[row.sha256 for row in missing]).update(
            uploaded_at=Case(*[When(sha256=row.sha256, then=Value(row.uploaded_at)) for row in missing]))
    return len(missing)


def on_case_merging(sender: Any, source_id: int, target_id: int, **kwargs: Any) -> dict[str, int]:
    return {"evidence_files": carry_evidence(source_id, target_id)}
