import json
import os
from pathlib import Path

import pytest

# Shared fixtures: local fake HTTP servers (enrichment, playbooks connectors), and the playbooks
# tests' team, case and connectors.
pytest_plugins = ["tests.support.fake_servers", "tests.support.playbooks_support"]

# Each test session should publish to its own Celery queue, so that concurrent runs on one Redis
# never consume each other's tasks. `make test` sets SOAR_CELERY_QUEUE before Django starts;
# this default only helps when pytest is run by hand and settings load after conftest.
os.environ.setdefault("SOAR_CELERY_QUEUE", f"test-{os.getpid()}")

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(relative: str):
    return json.loads((FIXTURES / relative).read_text())


@pytest.fixture
def make_source(db):
    """Create an AlertSource; returns (source, plaintext token)."""
    from alerts.models import AlertSource, CorrelationRule

    # Transactional tests flush the table that the data migration filled.
    CorrelationRule.objects.get_or_create(name="Same entity within 15 minutes", defaults={"priority": 1000})

    def factory(name="siem", kind="generic", hmac_secret="", team=None, enabled=True):
        source = AlertSource(name=name, kind=kind, hmac_secret=hmac_secret, default_team=team, enabled=enabled)
        token = source.rotate_token()
        source.save()
        return source, token

    return factory


@pytest.fixture(autouse=True)
def _process_alerts_inline(settings):
    """Embedded-mode tests assert on a webhook request's results as soon as it answers; the
    background thread the product uses by default has its own test (test_embedded_processing)."""
    settings.SOAR_EMBEDDED_PROCESSING = "inline"


@pytest.fixture(autouse=True)
def _broker_not_marked_down():
    """soar.queue skips the broker for 5 s after a failed publish, for the whole process: a
    test that broke the broker on purpose must not hold back the next test's publishes."""
    from soar import queue as broker

    broker.forget_failure()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Log-in failure counters (soar.security) live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _flush_around_the_audit_triggers():
    """Transactional tests end with a flush: TRUNCATE on PostgreSQL (no row triggers fire), but
    DELETE FROM on SQLite, which the audit log's append-only triggers refuse (migration
    cases/0009). On SQLite the flush drops those triggers first and re-creates them after."""
    import importlib

    from django.conf import settings

    if "sqlite3" not in settings.DATABASES["default"]["ENGINE"]:
        yield
        return
    from django.db.backends.sqlite3.base import DatabaseOperations

    guard = importlib.import_module("cases.migrations.0009_audit_log_append_only")
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if "cases_auditlog" not in tables or not statements:
            return statements
        return [*guard.SQLITE_BACKWARD, *statements, *guard.SQLITE]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Everything under tests/integration/ is an integration test (deselected by -m "not integration")."""
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
