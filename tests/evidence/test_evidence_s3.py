"""Evidence files in an S3-compatible store (SOAR_EVIDENCE_STORE=s3, django-storages): the real
upload and download views against moto's S3 server on loopback (a fake of the S3 API that answers
over HTTP like the real one). Content-addressed objects, streamed downloads with the attachment
headers, another team's analyst 404, a failing store 503 with no row left behind, secrets in no
log line, and the settings that build the storage from the environment."""

import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.views.debug import SafeExceptionReporterFilter
from moto.server import ThreadedMotoServer

from alerts.models import Observable
from cases.models import AuditLog
from evidence import services, store
from evidence.models import EvidenceFile
from tests.factories import build_world

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = "AKIAEVIDENCETESTKEY01"
SECRET_KEY = "evidence-secret-do-not-log-9f8e7d6c5b4a"
CONTENT = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"  # over one FileResponse block
SHA256 = hashlib.sha256(CONTENT).hexdigest()
KEY = f"{SHA256[:2]}/{SHA256[2:4]}/{SHA256}"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_options(endpoint: str, bucket: str, **extra) -> dict:
    return {"bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1",
            "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "default_acl": "private",
            "file_overwrite": True, "object_parameters": {"ServerSideEncryption": "AES256"},
            "client_config": Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1},
                                    signature_version="s3v4", s3={"addressing_style": "path"}), **extra}


def use_s3(settings, endpoint: str, bucket: str) -> None:
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options(endpoint, bucket)}}


@pytest.fixture
def bucket(s3_endpoint, settings):
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, config=Config(s3={"addressing_style": "path"}))
    client.create_bucket(Bucket=name)
    use_s3(settings, s3_endpoint, name)
    client.soar_bucket = name
    return client


@pytest.fixture
def world(bucket):
    return build_world()


def upload_page(client, case, content=CONTENT, name="report.pdf"):
    return client.post(f"/evidence/cases/{case.pk}/upload",
                       {"file": SimpleUploadedFile(name, content, content_type="text/html"), "description": "mail"})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_upload_stores_the_object_under_its_sha256_private_and_encrypted(client, world, bucket):
    client.force_login(world.analyst)
    response = upload_page(client, world.blue_case)
    assert response.status_code == 302
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    assert evidence.sha256 == SHA256 and evidence.file.name == KEY
    stored = bucket.get_object(Bucket=bucket.soar_bucket, Key=KEY)
    assert stored["Body"].read() == CONTENT
    assert stored["ServerSideEncryption"] == "AES256"
    # Private: the ACL grants the owner only, no AllUsers/AuthenticatedUsers grant.
    grants = bucket.get_object_acl(Bucket=bucket.soar_bucket, Key=KEY)["Grants"]
    assert all("URI" not in grant["Grantee"] for grant in grants)
    assert [obj["Key"] for obj in bucket.list_objects_v2(Bucket=bucket.soar_bucket)["Contents"]] == [KEY]


def test_the_same_bytes_on_another_case_are_stored_once(client, world, bucket):
    client.force_login(world.lead)
    upload_page(client, world.blue_case)
    client.force_login(world.red_analyst)
    assert upload_page(client, world.red_case, name="copy.pdf").status_code == 302
    assert EvidenceFile.objects.filter(sha256=SHA256).count() == 2
    assert bucket.list_objects_v2(Bucket=bucket.soar_bucket)["KeyCount"] == 1


def test_download_streams_identical_bytes_with_the_attachment_headers(client, world):
    client.force_login(world.analyst)
    upload_page(client, world.blue_case)
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    # A stream of the GetObject body, not django-storages' S3File (which downloads it all first).
    handle = services.open_for_download(evidence, actor=world.analyst)
    try:
        assert isinstance(handle, StreamingBody)
    finally:
        handle.close()
    for url in (f"/evidence/{evidence.pk}/download", f"/api/v1/evidence/{evidence.pk}/download"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.streaming
        assert b"".join(response.streaming_content) == CONTENT
        assert response["Content-Length"] == str(len(CONTENT))
        assert response["Content-Type"] == "application/octet-stream"
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;") and "report.pdf" in disposition
        assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditLog.objects.filter(action="evidence.downloaded").count() == 3


def test_another_teams_analyst_gets_404(client, world):
    client.force_login(world.analyst)
    upload_page(client, world.blue_case)
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    client.force_login(world.red_analyst)
    assert client.get(f"/evidence/{evidence.pk}/download").status_code == 404
    assert client.get(f"/api/v1/evidence/{evidence.pk}/download").status_code == 404
    assert upload_page(client, world.blue_case, content=b"other bytes").status_code == 404
    assert not AuditLog.objects.filter(action="evidence.downloaded").exists()


def test_an_unreachable_store_answers_503_and_keeps_no_row(client, world, settings, caplog):
    use_s3(settings, f"http://127.0.0.1:{closed_port()}", "evidence")
    client.force_login(world.analyst)
    with caplog.at_level(logging.INFO):
        page = upload_page(client, world.blue_case)
        api = client.post(f"/api/v1/cases/{world.blue_case.pk}/evidence",
                          {"file": _upload_file(), "description": "x"})
    assert page.status_code == 503
    assert api.status_code == 503 and api.json()["code"] == "unavailable" and api["Retry-After"] == "30"
    assert "evidence store is unavailable" in api.json()["detail"]
    assert not EvidenceFile.objects.exists()
    assert not Observable.objects.filter(type="hash", value=SHA256).exists()
    assert not AuditLog.objects.filter(action="evidence.uploaded").exists()
    assert "evidence store failed while storing a file" in caplog.text
    assert SECRET_KEY not in caplog.text and ACCESS_KEY not in caplog.text


def test_a_missing_bucket_answers_503_and_keeps_no_row(client, world, settings, s3_endpoint):
    use_s3(settings, s3_endpoint, f"no-such-bucket-{uuid.uuid4().hex[:8]}")
    client.force_login(world.analyst)
    assert upload_page(client, world.blue_case).status_code == 503
    assert not EvidenceFile.objects.exists()


def test_download_while_the_store_is_down_is_503_and_a_vanished_object_is_404(client, world, bucket, settings):
    client.force_login(world.analyst)
    upload_page(client, world.blue_case)
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    bucket.delete_object(Bucket=bucket.soar_bucket, Key=KEY)
    gone = client.get(f"/api/v1/evidence/{evidence.pk}/download")
    assert gone.status_code == 404 and "missing" in gone.json()["detail"]
    use_s3(settings, f"http://127.0.0.1:{closed_port()}", bucket.soar_bucket)
    down = client.get(f"/api/v1/evidence/{evidence.pk}/download")
    assert down.status_code == 503 and down.json()["code"] == "unavailable"
    assert EvidenceFile.objects.filter(pk=evidence.pk).exists()  # the row is kept: the store may come back


def test_secrets_appear_in_no_log_line_nor_in_error_reports(client, world, caplog):
    client.force_login(world.analyst)
    # Even with the root logger at DEBUG (SOAR_LOG_LEVEL=DEBUG): botocore's DEBUG lines print the
    # signed headers, so the settings keep its loggers at INFO.
    with caplog.at_level(logging.DEBUG):
        upload_page(client, world.blue_case)
        evidence = EvidenceFile.objects.get(case=world.blue_case)
        b"".join(client.get(f"/evidence/{evidence.pk}/download").streaming_content)
    assert caplog.records  # the capture did see the requests' log lines
    assert SECRET_KEY not in caplog.text and ACCESS_KEY not in caplog.text
    # Django's error pages and mails show settings through this filter: the keys are masked.
    shown = SafeExceptionReporterFilter().get_safe_settings()["STORAGES"]["evidence"]["OPTIONS"]
    assert SECRET_KEY not in repr(shown) and ACCESS_KEY not in repr(shown)


def test_store_put_and_open_stream_work_on_the_bucket_directly(bucket):
    store.put("ab/cd/abcdef", ContentFile(b"direct bytes"))
    store.put("ab/cd/abcdef", ContentFile(b"direct bytes"))  # already there: no second write
    stream = store.open_stream("ab/cd/abcdef")
    try:
        assert stream.read(6) == b"direct" and stream.read() == b" bytes"
    finally:
        stream.close()
    with pytest.raises(FileNotFoundError):
        store.open_stream("ab/cd/nothing")


def test_upload_evidence_service_raises_store_unavailable(world, settings):
    use_s3(settings, f"http://127.0.0.1:{closed_port()}", "evidence")
    with pytest.raises(store.StoreUnavailable):
        services.upload_evidence(world.blue_case, _upload_file(), actor=world.analyst)
    assert not EvidenceFile.objects.exists()


def _upload_file():
    return SimpleUploadedFile("report.pdf", CONTENT, content_type="application/pdf")


# --- the settings build the storage from the environment ------------------------------------

def settings_in_a_fresh_process(**variables: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SOAR_EVIDENCE")}
    environment.update(variables)
    code = ("import json, soar.settings as s; e = s.STORAGES['evidence']; o = dict(e.get('OPTIONS', {}));"
            "c = o.pop('client_config', None);"
            "print(json.dumps({'backend': e['BACKEND'], 'options': o, 'timeout': c and c.connect_timeout,"
            "'style': c and c.s3}, default=str))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=environment,
                          timeout=60)


def test_settings_default_is_the_directory_store():
    result = settings_in_a_fresh_process()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backend"] == "django.core.files.storage.FileSystemStorage"


def test_settings_build_the_s3_storage_from_the_environment():
    result = settings_in_a_fresh_process(
        SOAR_EVIDENCE_STORE="s3", SOAR_EVIDENCE_S3_BUCKET="soar-evidence",
        SOAR_EVIDENCE_S3_ENDPOINT_URL="http://minio:9000", SOAR_EVIDENCE_S3_REGION="eu-west-1",
        SOAR_EVIDENCE_S3_ACCESS_KEY=ACCESS_KEY, SOAR_EVIDENCE_S3_SECRET_KEY=SECRET_KEY,
        SOAR_EVIDENCE_S3_PATH_STYLE="true", SOAR_EVIDENCE_S3_SSE="aws:kms", SOAR_EVIDENCE_S3_KMS_KEY_ID="key-1",
        SOAR_EVIDENCE_S3_TIMEOUT="7")
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    options = built["options"]
    assert built["backend"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "soar-evidence", "http://minio:9000", "eu-west-1")
    assert (options["access_key"], options["secret_key"]) == (ACCESS_KEY, SECRET_KEY)
    assert options["default_acl"] == "private" and options["file_overwrite"] is True
    assert options["object_parameters"] == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-1"}
    assert built["timeout"] == 7 and built["style"] == {"addressing_style": "path"}


@pytest.mark.parametrize("variables, message", [
    ({"SOAR_EVIDENCE_STORE": "ftp"}, "SOAR_EVIDENCE_STORE must be"),
    ({"SOAR_EVIDENCE_STORE": "s3"}, "needs SOAR_EVIDENCE_S3_BUCKET"),
    ({"SOAR_EVIDENCE_STORE": "s3", "SOAR_EVIDENCE_S3_BUCKET": "b", "SOAR_EVIDENCE_S3_SSE": "rot13"},
     "SOAR_EVIDENCE_S3_SSE must be"),
])
def test_settings_refuse_a_bad_store_configuration(variables, message):
    result = settings_in_a_fresh_process(**variables)
    assert result.returncode != 0 and message in result.stderr


def test_the_admin_shows_the_object_key_but_no_bucket_link(admin_client, client, world):
    client.force_login(world.analyst)
    upload_page(client, world.blue_case)
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    page = admin_client.get(f"/admin/evidence/evidencefile/{evidence.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert KEY in html
    # No link to the object at all (with an S3 store at start-up it would be a signed bucket URL).
    assert re.search(r'href="[^"]*' + KEY, html) is None
    assert "X-Amz-Signature" not in html


def test_a_large_file_goes_up_in_parts_and_comes_back_identical(client, world, bucket):
    # Over Django's in-memory upload limit (a temporary file) and boto3's 8 MiB multipart threshold.
    content = b"MZ" + os.urandom(9 * 1024 * 1024)
    sha256 = hashlib.sha256(content).hexdigest()
    client.force_login(world.analyst)
    assert upload_page(client, world.blue_case, content=content, name="big.exe").status_code == 302
    evidence = EvidenceFile.objects.get(case=world.blue_case)
    key = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
    assert evidence.file.name == key and evidence.size == len(content)
    head = bucket.head_object(Bucket=bucket.soar_bucket, Key=key)
    assert head["ContentLength"] == len(content) and "-" in head["ETag"]  # a multipart upload's ETag
    response = client.get(f"/evidence/{evidence.pk}/download")
    assert response["Content-Length"] == str(len(content))
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == sha256


def test_a_broken_directory_store_also_answers_503_and_keeps_no_row(client, world, settings, tmp_path):
    # The same rule for the default store: here its location is a plain file, so nothing can be saved.
    blocked = tmp_path / "not-a-directory"
    blocked.write_bytes(b"")
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(blocked), "base_url": None}}}
    client.force_login(world.analyst)
    assert upload_page(client, world.blue_case).status_code == 503
    assert not EvidenceFile.objects.exists()
