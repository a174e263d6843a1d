"""Audit rows that Celery tasks write on behalf of a request carry its request id: the id
travels as message headers (soar/task_context.py) and is bound around the task's run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from celery import shared_task
from celery.result import denied_join_result
from django.test import Client

from cases.models import AuditLog
from soar.middleware import _request_context, bind_request_context, current_request_context
from soar.task_context import incoming_context, outgoing_headers
from tests.support.eager import EAGER_GET
from tests.support.playbooks_helpers import action, make_playbook, manual


@shared_task(bind=True)
def seen_by_task(self):
    return {"headers": dict(self.request.headers or {}), "context": dict(current_request_context())}


@pytest.fixture
def empty_context():
    token = _request_context.set(None)
    yield
    _request_context.reset(token)


def test_headers_round_trip(empty_context):
    assert outgoing_headers() == {}
    bind_request_context(request_id="req-42", client_ip="192.0.2.5")
    headers = outgoing_headers()
    assert headers == {"soar_request_id": "req-42", "soar_client_ip": "192.0.2.5"}
    # A worker's request has the message headers as attributes, an eager one as .headers.
    assert incoming_context(SimpleNamespace(headers=None, **headers)) == {"request_id": "req-42",
                                                                         "client_ip": "192.0.2.5"}
    assert incoming_context(SimpleNamespace(headers=headers)) == {"request_id": "req-42", "client_ip": "192.0.2.5"}
    # A forged id (a header is caller-controlled) is dropped, as the middleware drops it.
    assert incoming_context(SimpleNamespace(headers={"soar_request_id": "a b\nc"})) == {}


def test_publishing_carries_the_request_context_and_the_task_binds_it(empty_context):
    bind_request_context(request_id="req-7", client_ip="198.51.100.1")
    result = seen_by_task.delay().get(**EAGER_GET)
    assert result["headers"]["soar_request_id"] == "req-7"
    assert result["context"] == {"request_id": "req-7", "client_ip": "198.51.100.1"}
    assert current_request_context() == {"request_id": "req-7", "client_ip": "198.51.100.1"}  # restored after


def test_a_task_runs_in_the_context_of_its_headers_not_of_the_caller(empty_context):
    # As in a worker process: no request context, only the message's headers.
    result = seen_by_task.apply(headers={"soar_request_id": "from-header"}).get(**EAGER_GET)
    assert result["context"] == {"request_id": "from-header"}
    bind_request_context(request_id="stale-id")
    assert seen_by_task.apply().get(**EAGER_GET)["context"] == {}  # a task without headers never inherits an old id
    assert current_request_context() == {"request_id": "stale-id"}


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_audit_rows_written_by_an_eager_task_carry_the_request_id(world):
    playbook = make_playbook(manual([action("block", "add_to_blocklist", list="edge", type="ip",
                                            value="203.0.113.7")], name="Blocker"))
    client = Client()
    client.force_login(world["member"])
    response = client.post(f"/api/v1/cases/{world['case'].pk}/playbooks/run",
                           data=json.dumps({"playbook": playbook.pk}), content_type="application/json",
                           HTTP_X_REQUEST_ID="req-eager-1")
    assert response.status_code == 202, response.content
    written_by_task = AuditLog.objects.get(action="blocklist.add")
    assert (written_by_task.request_id, written_by_task.client_ip) == ("req-eager-1", "127.0.0.1")


def test_an_eager_result_is_read_while_another_thread_runs_an_eager_task(empty_context):
    """The flaky failure this file had: another thread's eager apply_async holds Celery's
    process-wide flag (denied_join_result) while this test reads its own result."""
    with denied_join_result():  # what a background follow-up thread's eager task does meanwhile
        with pytest.raises(RuntimeError, match="Never call result.get"):
            seen_by_task.apply().get()
        assert seen_by_task.apply().get(**EAGER_GET)["context"] == {}
