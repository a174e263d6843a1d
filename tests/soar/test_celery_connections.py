"""The worker's database connection lives across tasks (soar/celery.py, CELERY_DB_REUSE_MAX):
checked at each task's start as Django checks it at each request's, closed after a failure."""

from types import SimpleNamespace

import pytest
from django.conf import settings

from soar import celery as soar_celery

pytestmark = pytest.mark.django_db


def task(eager: bool = False):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def test_celery_keeps_the_connection_for_many_tasks():
    # Celery's Django fixup closes the connection around every task when this is unset.
    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert soar_celery.app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX


def test_a_task_start_checks_old_connections(monkeypatch):
    calls = []
    monkeypatch.setattr(soar_celery.db, "close_old_connections", lambda: calls.append("checked"))
    soar_celery._check_database_connections(task=task())
    soar_celery._check_database_connections(task=task(eager=True))  # the request's connection: left alone
    assert calls == ["checked"]


class Connection:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


@pytest.fixture
def opened(monkeypatch):
    """The worker's open connections, as Django lists them."""
    connections = [Connection(), Connection()]
    monkeypatch.setattr(soar_celery.db.connections, "all", lambda initialized_only=False: connections)
    return connections


@pytest.mark.parametrize(("state", "closed"), [("SUCCESS", False), ("FAILURE", True), ("RETRY", True)])
def test_a_task_that_failed_leaves_no_connection_behind(opened, state, closed):
    soar_celery._close_database_connections_after_failure(task=task(), state=state)
    assert [c.closed for c in opened] == [closed, closed]


def test_an_eager_task_never_closes_the_callers_connection(opened):
    soar_celery._close_database_connections_after_failure(task=task(eager=True), state="FAILURE")
    assert [c.closed for c in opened] == [False, False]
