"""Fixtures of the playbooks tests, loaded with ``pytest_plugins``: a team with a member and
a lead, a case with observables, and connectors pointing at local fake servers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from cases.models import Team
from cases.services import open_case
from playbooks.models import Connector
from tests.support.playbooks_helpers import observable


@pytest.fixture
def pb_settings(settings):
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    settings.SOAR_PLAYBOOK_RETRY_BACKOFF_SECONDS = 0
    settings.SOAR_PLAYBOOK_MAX_RETRIES = 2
    settings.SOAR_ENRICHMENT_AUTO = False
    return settings


@pytest.fixture
def world(db, pb_settings):
    lead_group = Group.objects.get_or_create(name="lead")[0]
    team = Team.objects.create(name="Blue", slug="blue")
    member = User.objects.create_user("member", password=None)
    lead = User.objects.create_user("lead", password=None)
    lead.groups.add(lead_group)
    other_lead = User.objects.create_user("other-lead", password=None)  # a lead outside the team
    other_lead.groups.add(lead_group)
    team.members.add(member, lead)
    outsider = User.objects.create_user("outsider", password=None)
    case = open_case(title="Malware on ws-042", severity="medium", team=team)
    case.observables.add(observable("ip", "203.0.113.7"), observable("hostname", "ws-042"),
                         observable("url", "http://evil.example/login"), observable("domain", "evil.example"))
    return {"team": team, "member": member, "lead": lead, "other_lead": other_lead, "outsider": outsider,
            "case": case, "lead_group": lead_group}


@pytest.fixture
def connector_for():
    def create(kind: str, url: str, name: str | None = None, **fields) -> Connector:
        return Connector.objects.create(name=name or kind, kind=kind, base_url=url, **fields)
    return create
