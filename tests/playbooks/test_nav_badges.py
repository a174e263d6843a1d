"""The navigation's live badges: approvals waiting for me, open cases assigned to me; an
unchanged fragment answers 304 to the poller's If-None-Match."""

import json

import pytest
from django.test import Client

from cases import services
from playbooks.models import ApprovalRequest
from tests.support.fake_servers import FakeServer
from tests.support.playbooks_helpers import action, make_playbook, manual

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def waiting_approval(world, connector_for, django_capture_on_commit_callbacks):
    fake = FakeServer().start()
    fake.add("POST", "/api/v1/hosts/isolate", json={"status": "isolated"})
    connector_for("edr", fake.url)
    playbook = make_playbook(manual([action("isolate", "isolate_host", hostname="ws-042")], name="Isolate"))
    with django_capture_on_commit_callbacks(execute=True):
        login(world["member"]).post(f"/api/v1/cases/{world['case'].pk}/playbooks/run",
                                    data=json.dumps({"playbook": playbook.pk}), content_type="application/json")
    yield ApprovalRequest.objects.get()
    fake.stop()


def counts(page: str) -> tuple[str, str]:
    def count_after(anchor: str) -> str:
        start = page.index(f'id="{anchor}"')
        return page[page.index('class="count"', start):].split(">", 1)[1].split("<", 1)[0]
    return count_after("badge-approvals"), count_after("badge-assigned")


def test_badges_on_every_page_count_only_what_is_mine(world, waiting_approval):
    lead_page = login(world["lead"]).get("/").content.decode()
    assert counts(lead_page) == ("1", "0")
    member = login(world["member"])
    assert counts(member.get("/").content.decode()) == ("0", "0")
    services.assign_case(world["case"], world["member"], actor=world["member"])
    assert counts(member.get("/playbooks/badges").content.decode()) == ("0", "1")


def test_unchanged_badges_answer_304_and_a_change_a_new_body(world):
    client = login(world["member"])
    first = client.get("/playbooks/badges", HTTP_X_SOAR_LIVE="badges")
    assert first.status_code == 200 and first["ETag"]
    again = client.get("/playbooks/badges", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    services.assign_case(world["case"], world["member"], actor=world["member"])
    changed = client.get("/playbooks/badges", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_badges_need_a_log_in():
    response = Client().get("/playbooks/badges")
    assert response.status_code == 302 and "/login" in response["Location"]
