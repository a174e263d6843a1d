"""The dashboard and the summary API never name a team the user cannot see: an invisible team is
as unknown as one that does not exist."""

import pytest

from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def test_dashboard_heading_does_not_name_an_invisible_team(client, w):
    client.force_login(w.analyst)  # Blue only
    for value in (w.red.pk, "red"):
        html = client.get("/reports/", {"team": value}).content.decode()
        assert "Red" not in html.replace("Red lateral", "")  # neither heading nor options
        assert "Unknown team." in html
    missing = client.get("/reports/", {"team": "no-such-team"}).content.decode()
    assert "Unknown team." in missing  # the same answer: existence is not revealed either
    own = client.get("/reports/", {"team": "blue"}).content.decode()
    assert "team Blue" in own and "Unknown team." not in own


def test_summary_api_refuses_an_invisible_team_like_an_unknown_one(client, w):
    client.force_login(w.analyst)
    invisible = client.get("/api/v1/reports/summary", {"team": "red"})
    unknown = client.get("/api/v1/reports/summary", {"team": "nope"})
    assert invisible.status_code == unknown.status_code == 400
    assert invisible.json() == unknown.json() and "Red" not in invisible.content.decode()
    assert client.get("/api/v1/reports/summary", {"team": "blue"}).json()["range"]["team"]["name"] == "Blue"
    client.force_login(w.auditor)  # sees every team
    assert client.get("/api/v1/reports/summary", {"team": "red"}).json()["range"]["team"]["name"] == "Red"
