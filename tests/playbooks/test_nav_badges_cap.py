"""The navigation badges count up to BADGE_CAP and then show "99+": a user with thousands of
assigned cases is not counted in full on every page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from playbooks.badges import BADGE_CAP, badge_counts
from playbooks.templatetags.playbooks_ui import badge_count
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def assigned_badge(html: str) -> str:
    start = html.index('id="badge-assigned"')
    return html[html.index('class="count"', start):].split(">", 1)[1].split("<", 1)[0]


def test_badge_count_label():
    assert [badge_count(n) for n in (0, 1, 99, 100, 5000)] == ["0", "1", "99", "99+", "99+"]


def test_many_assigned_cases_show_99_plus_with_a_capped_query(client):
    w = build_world()
    Case.objects.bulk_create([Case(title=f"c{i}", severity="low", team=w.blue, assignee=w.analyst)
                              for i in range(BADGE_CAP + 20)])
    with CaptureQueriesContext(connection) as captured:
        counts = badge_counts(w.analyst)
    assert counts["assigned"] == BADGE_CAP
    assert any("LIMIT 100" in q["sql"] for q in captured.captured_queries)
    client.force_login(w.analyst)
    assert assigned_badge(client.get("/playbooks/badges").content.decode()) == "99+"
    assert 'aria-label="99+ open cases assigned to me"' in client.get("/").content.decode()


def test_fewer_than_the_cap_are_exact_and_only_mine(client):
    w = build_world()
    mine = [Case(title=f"c{i}", severity="low", team=w.blue, assignee=w.analyst) for i in range(7)]
    Case.objects.bulk_create([*mine, Case(title="red", severity="low", team=w.red, assignee=w.red_analyst)])
    assert badge_counts(w.analyst)["assigned"] == 7
    client.force_login(w.red_analyst)
    assert assigned_badge(client.get("/playbooks/badges").content.decode()) == "1"
