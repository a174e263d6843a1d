"""The OpenAPI schema says what the API answers: nullable user references are nullable, and
every operation declares the error statuses it can give (fast; schemathesis checks the
responses themselves in tests/integration/test_schemathesis.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("component, field", [
    ("PlaybookVersion", "created_by"),
    ("Approval", "approver_user"),
    ("Approval", "approver_group"),
    ("Approval", "decided_by"),
    ("PlaybookRun", "started_by"),
])
def test_nullable_user_references_are_declared_nullable(schema, component, field):
    prop = schema["components"]["schemas"][component]["properties"][field]
    assert prop.get("nullable") is True, prop


def test_every_operation_declares_the_error_statuses(schema):
    assert "Error" in schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "403", "404", "429", "503"} <= statuses, (method, path)
    approve = schema["paths"]["/api/v1/approvals/{id}/approve"]["post"]["responses"]
    assert {"403", "404", "409", "429"} <= set(approve)
    assert approve["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_schema_validates(tmp_path):
    # --validate checks the generated document against the OpenAPI 3 meta-schema.
    call_command("spectacular", "--validate", "--file", str(tmp_path / "schema.yaml"), stdout=StringIO(),
                 stderr=StringIO())
    assert (tmp_path / "schema.yaml").stat().st_size > 1000


@pytest.mark.django_db
def test_api_paths_refused_by_their_converter_answer_json_404(client):
    response = client.get("/api/v1/playbooks/-1")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    assert "json" not in client.get("/no-such-page/")["Content-Type"]
