"""Evidence files: upload limits, hashing while streaming, type sniffing, storage outside the
web root, attachment-only downloads, hashes as observables, audit and timeline, and access
(another team's analyst 404, auditors read-only, read tokens refused)."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from alerts.models import Observable
from cases.models import AuditLog, CaseEvent
from evidence import services
from evidence.models import EvidenceFile
from evidence.sniff import sniff_content_type
from soar import errors
from tests.factories import build_world

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + b"x" * 5000 + b"\n%%EOF\n"


@pytest.fixture
def evidence_dir(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "evidence"), "base_url": None}}}
    return tmp_path / "evidence"


@pytest.fixture
def world(evidence_dir):
    w = build_world()
    w.dir = evidence_dir
    return w


def upload_page(client, case, content=PDF, name="report.pdf", **extra):
    return client.post(f"/evidence/cases/{case.pk}/upload",
                       {"file": SimpleUploadedFile(name, content, content_type="text/html"), "description": "mail"},
                       **extra)


def test_upload_hashes_sniffs_stores_outside_the_web_root_and_links_the_hashes(client, world):
    client.force_login(world.analyst)
    response = upload_page(client, world.blue_case)
    assert response.status_code == 302 and response["Location"].endswith("#evidence")
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    sha256 = hashlib.sha256(PDF).hexdigest()
    assert (evidence.sha256, evidence.sha1, evidence.md5) == (
        sha256, hashlib.sha1(PDF).hexdigest(), hashlib.md5(PDF).hexdigest())  # noqa: S324
    assert evidence.size == len(PDF) and evidence.name == "report.pdf" and evidence.description == "mail"
    # The sniffed type, not the uploader's text/html.
    assert evidence.content_type == "application/pdf"
    stored = world.dir / sha256[:2] / sha256[2:4] / sha256
    assert stored.read_bytes() == PDF
    # The three hashes are observables of the case.
    values = set(world.blue_case.observables.filter(type="hash").values_list("value", flat=True))
    assert values == {evidence.sha256, evidence.sha1, evidence.md5}
    event = CaseEvent.objects.filter(case=world.blue_case, data__evidence=evidence.pk).get()
    assert sha256 in event.message and event.actor == world.analyst
    audit = AuditLog.objects.get(action="evidence.uploaded")
    assert audit.object_id == str(world.blue_case.pk) and audit.after["sha256"] == sha256
    page = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert f'data-evidence-download="{evidence.pk}"' in page and sha256 in page


def test_download_is_always_an_attachment_with_a_safe_name_and_is_audited(client, world):
    client.force_login(world.analyst)
    html = b"<html><script>alert(1)</script></html>"
    upload_page(client, world.blue_case, content=html, name='..\\..\\evil"\r\nX-Injected: 1<b>.html')
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    assert "/" not in evidence.name and "\\" not in evidence.name and "\r" not in evidence.name
    assert '"' not in evidence.name and "<" not in evidence.name and not evidence.name.startswith(".")
    assert evidence.content_type == "text/plain"
    for url in (f"/evidence/{evidence.pk}/download", f"/api/v1/evidence/{evidence.pk}/download"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == html
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        assert evidence.name in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        assert "X-Injected" not in response.headers
    assert AuditLog.objects.filter(action="evidence.downloaded", actor=world.analyst).count() == 2


def test_size_limit_empty_file_and_duplicates_are_refused(client, world, settings):
    client.force_login(world.analyst)
    settings.SOAR_EVIDENCE_MAX_BYTES = 100
    assert upload_page(client, world.blue_case, content=b"a" * 101).status_code == 413
    api = client.post(f"/api/v1/cases/{world.blue_case.pk}/evidence",
                      {"file": SimpleUploadedFile("big.bin", b"a" * 101)})
    assert api.status_code == 413 and api.json()["code"] == "too_large"
    # A declared body far over the limit is refused before it is read.
    assert upload_page(client, world.blue_case, content=b"a" * 50, CONTENT_LENGTH=str(10**9)).status_code == 413
    assert upload_page(client, world.blue_case, content=b"").status_code == 400
    assert not EvidenceFile.objects.exists()
    assert not world.dir.exists() or not any(path.is_file() for path in world.dir.rglob("*"))
    assert upload_page(client, world.blue_case, content=b"a" * 100).status_code == 302
    assert upload_page(client, world.blue_case, content=b"a" * 100, name="again.txt").status_code == 409
    assert EvidenceFile.objects.count() == 1


def test_hashing_stops_at_the_limit_whatever_size_the_upload_claims():
    class Lying(ContentFile):
        size = 1  # what a hostile client's multipart part could claim

    content = Lying(b"b" * 10_000, name="x.bin")
    with pytest.raises(errors.TooLarge):
        services.digest_upload(content, max_bytes=4096)
    digests = services.digest_upload(ContentFile(b"b" * 10_000), max_bytes=10_000)
    assert digests.sha256 == hashlib.sha256(b"b" * 10_000).hexdigest() and digests.size == 10_000


@pytest.mark.parametrize("head, expected", [
    (b"\x89PNG\r\n\x1a\n....", "image/png"),
    (b"MZ\x90\x00\x03", "application/vnd.microsoft.portable-executable"),
    (b"PK\x03\x04\x14\x00", "application/zip"),
    (b"\x7fELF\x02\x01", "application/x-elf"),
    (b"plain text, caf\xc3\xa9", "text/plain"),
    (b"\x00\x01\x02\x03", "application/octet-stream"),
    (b"\x00" * 257 + b"ustar\x0000", "application/x-tar"),
])
def test_sniffing_reads_the_magic_bytes(head, expected):
    assert sniff_content_type(head) == expected


@pytest.mark.parametrize("raw, expected", [
    ("C:\\Users\\bob\\invoice.pdf", "invoice.pdf"),
    ("../../etc/passwd", "passwd"),
    (".htaccess", "htaccess"),
    ("", "evidence.bin"),
    ("a\x00b\x1b[31m.txt", "ab_31m.txt"),
    ("x" * 300 + ".eml", "x" * 146 + ".eml"),
])
def test_safe_filename(raw, expected):
    assert services.safe_filename(raw) == expected


def test_another_teams_analyst_gets_404_and_the_auditor_reads_only(client, world):
    client.force_login(world.analyst)
    upload_page(client, world.blue_case)
    evidence = EvidenceFile.objects.get()
    client.force_login(world.red_analyst)
    assert client.get(f"/evidence/{evidence.pk}/download").status_code == 404
    assert client.get(f"/api/v1/evidence/{evidence.pk}/download").status_code == 404
    assert client.get(f"/api/v1/evidence/{evidence.pk}").status_code == 404
    assert client.get(f"/api/v1/cases/{world.blue_case.pk}/evidence").status_code == 404
    assert upload_page(client, world.blue_case, content=b"other").status_code == 404
    assert not AuditLog.objects.filter(action="evidence.downloaded").exists()
    client.force_login(world.auditor)
    assert client.get(f"/evidence/{evidence.pk}/download").status_code == 200
    assert upload_page(client, world.blue_case, content=b"auditor").status_code == 403
    api = client.post(f"/api/v1/cases/{world.blue_case.pk}/evidence", {"file": SimpleUploadedFile("a.txt", b"z")})
    assert api.status_code == 403
    assert 'id="evidence-upload"' not in client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert EvidenceFile.objects.count() == 1


def test_api_upload_list_and_detail(client, world):
    client.force_login(world.analyst)
    response = client.post(f"/api/v1/cases/{world.blue_case.pk}/evidence",
                           {"file": SimpleUploadedFile("dump.pcap", b"\xd4\xc3\xb2\xa1" + b"\x00" * 40),
                            "description": "capture"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "application/vnd.tcpdump.pcap" and body["name"] == "dump.pcap"
    assert body["download_url"] == f"/api/v1/evidence/{body['id']}/download"
    listed = client.get(f"/api/v1/cases/{world.blue_case.pk}/evidence").json()
    assert [item["sha256"] for item in listed] == [body["sha256"]]
    assert client.get(f"/api/v1/evidence/{body['id']}").json()["md5"] == body["md5"]
    assert Observable.objects.filter(type="hash", value=body["sha1"], cases=world.blue_case).exists()
    missing = client.post(f"/api/v1/cases/{world.blue_case.pk}/evidence", {"description": "no file"})
    assert missing.status_code == 400 and "file" in str(missing.json())


def test_the_default_storage_is_under_the_data_directory_not_the_static_root(settings):
    from django.core.files.storage import storages

    location = Path(storages.create_storage(settings.STORAGES["evidence"]).location)
    assert location == Path(settings.SOAR_EVIDENCE_DIR)
    assert Path(settings.VAR_DIR) in location.parents
    assert Path(settings.STATIC_ROOT) not in (location, *location.parents)
