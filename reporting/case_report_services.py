"""Writes around the case report: each download of a report (HTML or PDF, page or API) is one
"case.report" entry in the audit log, on the case, with the format (who took what, and when:
a report leaves the tool, its TLP marking goes with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.services import record_audit

if TYPE_CHECKING:
    from cases.models import AuditLog, Case
    from cases.roles import Actor


def record_report_download(case: Case, fmt: str, *, actor: Actor) -> AuditLog:
    return record_audit("case.report", case, actor=actor, after={"format": fmt, "tlp": case.tlp})
