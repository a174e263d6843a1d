"""The alert page lists the ATT&CK techniques the alert's tool sent: id, name and a link to
attack.mitre.org for the ids the catalogue knows, the others as sent; only for who may read it."""

from __future__ import annotations

import pytest

from alerts import correlation, services
from alerts.models import Alert
from tests.attack.conftest import catalogue  # noqa: F401  (the fixture: the shipped ATT&CK subset)
from tests.attack.test_mapping import real
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def shellshock(catalogue, make_source):  # noqa: F811
    """The genuine Wazuh Shellshock alert (rule.mitre.id T1068, T1190), processed into a case of
    the source's team; one unknown id and one revoked id added so the page shows all three kinds."""
    w = build_world()
    source, _ = make_source(kind="wazuh", team=w.blue)
    payload = real("wazuh/05-doc-ar-shellshock-level15-srcip-url.json")
    payload["rule"]["mitre"]["id"] += ["T9999", "T1086"]
    [stored] = services.ingest(source, [payload])
    correlation.process_alerts([stored.id])
    return w, Alert.objects.get(pk=stored.id)


def test_the_page_shows_id_name_and_link_and_unknown_ids_as_sent(client, shellshock):
    w, alert = shellshock
    client.force_login(w.analyst)
    response = client.get(f"/alerts/{alert.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="techniques"' in html
    assert 'href="https://attack.mitre.org/techniques/T1068"' in html
    assert "Exploitation for Privilege Escalation" in html
    assert 'href="https://attack.mitre.org/techniques/T1190"' in html
    assert "Exploit Public-Facing Application" in html
    assert '<span class="mono">T9999</span>' in html and "not in the ATT&amp;CK catalogue" in html
    assert 'href="https://attack.mitre.org/techniques/T9999' not in html
    assert '<span class="badge">revoked</span>' in html
    # in the order the tool sent them
    assert html.index("T1068") < html.index("T1190") < html.index("T9999") < html.index("T1086")


def test_an_alert_without_techniques_says_so(client, make_source):
    w = build_world()
    source, _ = make_source(kind="wazuh", team=w.blue)
    payload = real("wazuh/02-legacy-auditd-config-change-2017-timestamp.json")
    [stored] = services.ingest(source, [payload])
    client.force_login(w.analyst)
    html = client.get(f"/alerts/{stored.id}/").content.decode()
    assert 'id="techniques"' in html and "None sent by the tool." in html


def test_an_analyst_of_another_team_cannot_reach_the_page(client, shellshock):
    w, alert = shellshock
    client.force_login(w.red_analyst)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
