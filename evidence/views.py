"""Upload (case page form, POST) and download of evidence files. A download is always an
attachment of type application/octet-stream with nosniff and a sandboxing CSP, so no browser
renders a stored file inline, whatever it holds."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cases.selectors import get_visible_case
from evidence import selectors, services
from soar import errors

# The multipart envelope around the file (boundaries, headers, the description field).
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def refuse_oversized_request(request) -> None:
    """Refuse before Django spools the body to a temporary file (413), by the declared length."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.SOAR_EVIDENCE_MAX_BYTES + UPLOAD_OVERHEAD_BYTES:
        raise errors.TooLarge(f"The file is larger than {settings.SOAR_EVIDENCE_MAX_BYTES} bytes.", field="file")


def attachment_response(evidence, handle) -> FileResponse:
    response = FileResponse(handle, as_attachment=True, filename=evidence.name,
                            content_type="application/octet-stream")
    # A streamed store object (S3) has no size FileResponse can find; the row knows it.
    if not response.has_header("Content-Length"):
        response["Content-Length"] = str(evidence.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def upload(request, case_id: int):
    case = get_visible_case(request.user, case_id)
    refuse_oversized_request(request)
    upload_file = request.FILES.get("file")
    if upload_file is None:
        raise errors.InvalidInput("Choose a file to upload.", field="file")
    evidence = services.upload_evidence(case, upload_file, actor=request.user,
                                        description=request.POST.get("description", ""))
    messages.success(request, f"Uploaded {evidence.name} (SHA-256 {evidence.sha256}).")
    return redirect(reverse("cases:detail", args=[case.pk]) + "#evidence")


@require_GET
@login_required
def download(request, evidence_id: int):
    evidence = selectors.get_visible_evidence(request.user, evidence_id)
    return attachment_response(evidence, services.open_for_download(evidence, actor=request.user))
