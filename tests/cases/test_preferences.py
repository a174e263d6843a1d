"""The preferences page (/me/): time zone and theme, validated by cases.preferences; the chosen
zone changes how every page shows times."""

import pytest

from cases import preferences
from cases.models import UserPreference
from soar.errors import InvalidInput
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def test_preferences_page_saves_zone_and_theme(client, w):
    client.force_login(w.analyst)
    page = client.get("/me/").content.decode()
    assert '<option value="">Browser default</option>' in page and '<option value="Europe/Paris"' in page
    assert 'value="system" checked' in page
    response = client.post("/me/", {"time_zone": "Asia/Tokyo", "theme": "dark"})
    assert response.status_code == 302 and response["Location"] == "/me/"
    preference = UserPreference.objects.get(user=w.analyst)
    assert (preference.time_zone, preference.theme) == ("Asia/Tokyo", "dark")
    page = client.get("/me/").content.decode()
    assert "Preferences saved." in page and '<option value="Asia/Tokyo" selected>' in page
    assert 'value="dark" checked' in page and " JST</time>" in page  # the page's own clock in the new zone
    assert " JST" in client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    client.post("/me/", {"time_zone": "", "theme": "light"})
    assert UserPreference.objects.get(user=w.analyst).time_zone == ""  # back to the browser's zone


def test_bad_zone_or_theme_is_a_field_error_and_stores_nothing(client, w):
    client.force_login(w.analyst)
    response = client.post("/me/", {"time_zone": "Mars/Olympus_Mons", "theme": "dark"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="pref-tz-error"' in html and "Unknown time zone: Mars/Olympus_Mons" in html
    assert 'aria-invalid="true"' in html
    response = client.post("/me/", {"time_zone": "UTC", "theme": "neon"})
    assert response.status_code == 400 and 'id="pref-theme-error"' in response.content.decode()
    assert not UserPreference.objects.filter(user=w.analyst).exists()
    with pytest.raises(InvalidInput) as excinfo:
        preferences.save_preferences(w.analyst, time_zone="../../etc/passwd", theme="system")
    assert excinfo.value.field == "time_zone"


def test_preferences_are_per_user_and_need_a_login(client, w):
    assert client.get("/me/").status_code == 302
    preferences.save_preferences(w.mate, time_zone="Europe/Paris", theme="dark")
    client.force_login(w.analyst)
    assert 'value="Europe/Paris" selected' not in client.get("/me/").content.decode()
    assert preferences.preferences_of(w.analyst).theme == "system" and preferences.preferences_of(w.analyst).pk is None
    # Display settings are the auditor's own, not case data: they may set them.
    client.force_login(w.auditor)
    assert client.post("/me/", {"time_zone": "UTC", "theme": "light"}).status_code == 302


def test_zone_choices_are_canonical_names():
    choices = preferences.time_zone_choices()
    assert choices[0] == "UTC" and "Europe/Paris" in choices and "America/New_York" in choices
    assert not any(name.startswith(("posix/", "right/", "Etc/")) for name in choices)
    assert preferences.is_known_zone("US/Eastern")  # an alias is still accepted
