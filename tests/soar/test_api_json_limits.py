"""The user API refuses hostile JSON with a 400, like the webhook: no RecursionError or
database error escapes as a 500."""

import pytest

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
ENDPOINTS = ["/api/v1/playbooks/validate", "/api/v1/cases/bulk", "/api/v1/alerts/promote"]


@pytest.fixture
def api(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.test", "x" * 12))
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body, fragment", [
    (DEEP, "nested deeper"),
    ("[" * 40 + "]" * 40, "nested deeper"),
    ('{"note": "a\\u0000b"}', "NUL"),
    ('{"n": 123456789012345678901234567890}', "64 bits"),
])
def test_hostile_json_is_a_400(api, path, body, fragment):
    response = api.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert fragment in response.json()["detail"]


def test_nul_in_a_note_is_refused_not_stored(api):
    from cases import services

    case = services.open_case(title="NUL probe", severity="low")
    response = api.post(f"/api/v1/cases/{case.pk}/notes", '{"body": "x\\u0000y"}', content_type="application/json")
    assert response.status_code == 400
    assert case.notes.count() == 0
