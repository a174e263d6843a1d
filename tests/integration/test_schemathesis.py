"""Schemathesis over the whole OpenAPI schema, on PostgreSQL, in-process through the WSGI
application (faster and as faithful as gunicorn for this purpose): every operation, called as
a superuser with a DRF token (the webhook with its source token), never answers 5xx, answers
only status codes and content types the schema declares, and its bodies match the schema.
Bounded: a few examples per operation, no shrinking."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.models import Alert
from tests.factories import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Bounded run time: a few examples per operation (about 55 operations), no shrinking.
MAX_EXAMPLES = int(os.environ.get("SOAR_SCHEMATHESIS_EXAMPLES", 12))
# Not only "no 5xx": every status code is declared, its content type and body match the schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
INGESTION = {("POST", "/api/v1/alerts"), ("POST", "/api/v1/alerts/batch")}


@pytest.fixture
def credentials(make_source):
    world = build_world()
    source, source_token = make_source(name="fuzz", team=world.blue)
    alert = Alert.objects.create(source=source, title="seed", severity="high", fingerprint="seed",
                                 entity_type="ip", entity_value="203.0.113.9", case=world.blue_case,
                                 status=Alert.Status.IN_CASE)
    user_token = Token.objects.create(user=world.admin).key
    real_ids = {"id": world.blue_case.pk, "case_id": world.blue_case.pk, "observable_id": 1, "alert": alert.pk}
    return {"user": f"Token {user_token}", "source": f"Bearer {source_token}", "ids": real_ids}


def run_operation(operation, credentials, statuses: set) -> list[str]:
    """Examples for one operation; returns the failure reports (empty when all passed)."""
    failures: list[str] = []
    key = (operation.method.upper(), operation.path)

    @given(case=operation.as_strategy(), use_real_ids=st.booleans())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def examples(case, use_real_ids):
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = credentials["source" if key in INGESTION else "user"]
        if use_real_ids and case.path_parameters and operation.method.upper() != "DELETE":
            for name in case.path_parameters:
                if name in credentials["ids"]:
                    case.path_parameters[name] = credentials["ids"]["alert" if "/alerts/" in operation.path
                                                                   else name]
        response = case.call()
        statuses.add((key, response.status_code))
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as exc:  # collected: every operation runs, all failures are reported together
            failures.append(f"{key[0]} {key[1]} -> {response.status_code}\n{str(exc)[:3000]}")

    examples()
    return failures


def test_every_operation_is_free_of_server_errors_and_matches_the_schema(credentials):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures, statuses = [], set()
    for operation in operations:
        failures.extend(run_operation(operation, credentials, statuses))
    # The credentials work: never a 401, and many operations answered 2xx at least once.
    assert not {key for key, status in statuses if status == 401}
    assert len({key for key, status in statuses if 200 <= status < 300}) >= 25
    distinct = list(dict.fromkeys(failures))
    assert not distinct, f"{len(distinct)} failing example(s):\n\n" + "\n\n".join(distinct[:20])
