"""Evidence files: upload (size limit, type sniffed, SHA-256/SHA-1/MD5 computed while reading
the upload in chunks, bytes stored content-addressed in the ``evidence`` storage), the hashes
linked to the case as observables, and downloads. Each upload is on the case's timeline and in
the audit log; each download is in the audit log."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.core.files import File
from django.db import transaction

from alerts.observable_services import add_observables_to_case
from cases import selectors as case_selectors
from cases import services as case_services
from cases.roles import signed_in
from cases.vocabulary import EventKind
from evidence import store
from evidence.models import EvidenceFile
from evidence.sniff import SNIFF_BYTES, sniff_content_type
from soar import errors

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from cases.models import Case
    from cases.roles import Actor

MAX_NAME_LENGTH = 150
MAX_DESCRIPTION_LENGTH = 500
_UNSAFE_NAME_CHARS = re.compile(r"[^\w .()+@-]")


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    sha1: str
    md5: str
    content_type: str


def safe_filename(raw: str) -> str:
    """A name fit for a Content-Disposition header and a file system: the last path component
    only, no control or shell-special characters, no leading dots, at most 150 characters."""
    name = unicodedata.normalize("NFKC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:MAX_NAME_LENGTH - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 16 \
            else name[:MAX_NAME_LENGTH]
    return name or "evidence.bin"


def digest_upload(upload: File, *, max_bytes: int) -> Digests:
    """Hash the file in one pass over its chunks (never read whole into memory) and sniff its
    type from the first bytes. Refuses an empty file and one over ``max_bytes`` (stops reading
    as soon as the count passes it, whatever size the upload claimed)."""
    sha256, sha1, md5 = hashlib.sha256(), hashlib.sha1(), hashlib.md5()  # noqa: S324 - identifiers for matching, not security
    head = b""
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > max_bytes:
            raise errors.TooLarge(f"The file is larger than {max_bytes} bytes.", field="file")
        if len(head) < SNIFF_BYTES:
            head += chunk[:SNIFF_BYTES - len(head)]
        sha256.update(chunk)
        sha1.update(chunk)
        md5.update(chunk)
    if size == 0:
        raise errors.InvalidInput("The file is empty.", field="file")
    return Digests(size, sha256.hexdigest(), sha1.hexdigest(), md5.hexdigest(), sniff_content_type(head))


def storage_name(sha256: str) -> str:
    """Content-addressed: the same bytes are stored once, whatever case or name they come under."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def upload_evidence(case: Case, upload: UploadedFile, *, actor: Actor, description: str = "") -> EvidenceFile:
    if signed_in(actor) is not None and not case_selectors.can_change_case(actor, case):
        raise errors.NotAllowed("You may not change this case.")
    if case.merged_into_id:
        raise errors.Conflict(f"Case #{case.pk} was merged into case #{case.merged_into_id}; change that one.")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise errors.InvalidInput(f"At most {MAX_DESCRIPTION_LENGTH} characters.", field="description")
    max_bytes = settings.SOAR_EVIDENCE_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise errors.TooLarge(f"The file is larger than {max_bytes} bytes.", field="file")
    digests = digest_upload(upload, max_bytes=max_bytes)
    existing = EvidenceFile.objects.filter(case_id=case.pk, sha256=digests.sha256).first()
    if existing is not None:
        raise errors.Conflict(f"This file is already attached to the case as {existing.name!r}.", field="file")
    name = storage_name(digests.sha256)
    # The bytes first, the row after: a store that fails (503) leaves no row pointing at nothing.
    store.put(name, upload)
    filename = safe_filename(upload.name or "")
    with transaction.atomic():
        evidence = EvidenceFile.objects.create(
            case_id=case.pk, file=name, name=filename, description=description.strip(), size=digests.size,
            content_type=digests.content_type, sha256=digests.sha256, sha1=digests.sha1, md5=digests.md5,
            uploaded_by=signed_in(actor))
        add_observables_to_case(case, [("hash", digests.sha256), ("hash", digests.sha1), ("hash", digests.md5)])
        details = {"evidence": evidence.pk, "name": filename, "size": digests.size, "sha256": digests.sha256,
                   "content_type": digests.content_type}
        case_services.add_case_event(case, EventKind.UPDATED,
                                     f"Evidence file {filename} uploaded ({digests.size} bytes, "
                                     f"SHA-256 {digests.sha256})", actor=actor, data=details)
        case_services.record_audit("evidence.uploaded", case, actor=actor, after=details)
    return evidence


def open_for_download(evidence: EvidenceFile, *, actor: Actor) -> IO[bytes]:
    """The stored bytes of a file the caller has found visible (``get_visible_evidence``); the
    download is audited."""
    try:
        # Through the storage the settings name now (the field's storage was fixed at start-up),
        # as a stream: a 50 MB file is never read whole into memory.
        handle = store.open_stream(str(evidence.file.name))
    except FileNotFoundError:
        raise errors.NotFound("The stored file is missing; tell an administrator.")
    case_services.record_audit("evidence.downloaded", evidence.case, actor=actor,
                               after={"evidence": evidence.pk, "name": evidence.name, "sha256": evidence.sha256})
    return handle
