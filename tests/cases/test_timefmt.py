"""One time format on every page: the analyst's zone, UTC on hover, relative ages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from cases.middleware import TZ_COOKIE, zone_for, zone_named
from cases.models import UserPreference
from cases.templatetags.timefmt import relative
from tests.factories import PASSWORD, build_world

MOMENT = datetime(2026, 12, 1, 15, 17, 41, tzinfo=UTC)


def render(source: str, **context) -> str:
    return Template("{% load timefmt %}" + source).render(Context(context))


def test_when_shows_the_active_zone_with_utc_on_hover():
    with timezone.override(zone_named("Europe/Paris")):
        html = render("{% when t %}", t=MOMENT)
    assert ">2026-12-01 16:17 CET</time>" in html
    assert 'title="2026-12-01 15:17:41 UTC"' in html
    assert 'datetime="2026-12-01T15:17:41+00:00"' in html


def test_when_with_seconds_and_empty_value():
    with timezone.override(UTC):
        assert ">2026-12-01 15:17:41 UTC</time>" in render("{% when t seconds=True %}", t=MOMENT)
    assert render("{% when t %}", t=None) == "—"


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=5), "just now"),
    (timedelta(minutes=12), "12 min ago"),
    (timedelta(hours=3, minutes=20), "3 h 20 min ago"),
    (timedelta(hours=30), "30 h ago"),
    (timedelta(days=4), "4 d ago"),
    (timedelta(minutes=-40), "in 40 min"),
])
def test_relative_ages(delta, text):
    assert relative(MOMENT - delta, now=MOMENT) == text


def test_unknown_or_hostile_zone_names_are_ignored():
    assert zone_named("Mars/Olympus") is None
    assert zone_named("../../etc/passwd") is None
    assert zone_named("x" * 200) is None
    assert zone_named("America/New_York") is not None


@pytest.mark.django_db
def test_profile_zone_wins_over_the_browser_cookie(rf):
    world = build_world()
    request = rf.get("/", HTTP_COOKIE=f"{TZ_COOKIE}=America%2FNew_York")
    request.user = world.analyst
    assert str(zone_for(request)) == "America/New_York"
    UserPreference.objects.create(user=world.analyst, time_zone="Asia/Tokyo")
    request = rf.get("/", HTTP_COOKIE=f"{TZ_COOKIE}=America%2FNew_York")
    request.user = world.analyst
    assert str(zone_for(request)) == "Asia/Tokyo"


@pytest.mark.django_db
def test_case_page_shows_times_in_the_browser_zone(client):
    world = build_world()
    client.login(username=world.analyst.username, password=PASSWORD)
    client.cookies[TZ_COOKIE] = "Asia%2FTokyo"
    page = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert " JST</time>" in page
