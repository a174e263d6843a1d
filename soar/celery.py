import gc
import logging
import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun, worker_process_init
from django import db
from kombu.transport import redis as kombu_redis

from soar.task_context import ContextTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")

# ContextTask: a task published while serving a request carries its request id (soar/task_context.py).
app = Celery("soar", task_cls=ContextTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_loaded_objects(**kwargs: Any) -> None:
    """Same as soar/wsgi.py: collections skip the objects loaded at start-up."""
    gc.freeze()


def _runs_in_worker(task: Task | None) -> bool:
    """Not an eager task (the embedded mode runs tasks inside a request or a command, whose
    connection is not the task's to close)."""
    return task is not None and not getattr(task.request, "is_eager", False)


@task_prerun.connect
def _check_database_connections(task: Task | None = None, **kwargs: Any) -> None:
    """What Django does at each request's start: drop a connection past CONN_MAX_AGE, and make
    the next query check its health (CONN_HEALTH_CHECKS). See CELERY_DB_REUSE_MAX."""
    if _runs_in_worker(task):
        db.close_old_connections()


@task_postrun.connect
def _close_database_connections_after_failure(task: Task | None = None, state: str | None = None,
                                              **kwargs: Any) -> None:
    """A task that did not succeed (an exception, a soft time limit raised inside a query, a
    retry after a database error) may leave its connection unusable in a way Django cannot
    see: the next task gets a new one."""
    if _runs_in_worker(task) and state != "SUCCESS":
        for connection in db.connections.all(initialized_only=True):
            connection.close()


logger = logging.getLogger(__name__)
_restore_unacked = kombu_redis.QoS.restore_unacked
_ack = kombu_redis.QoS.ack

# kombu 5.7.0 (the newest) ends the whole worker ("Unrecoverable error: AttributeError ...") when
# the broker connection is lost while a message is unacknowledged: restoring it at the loss, or
# acknowledging it when its task finishes after the loss, builds a client from the closed
# connection. Seen in bench/faults.py and in a busy CI run (a task still running when Redis
# stopped). The message stays in Redis's unacked set either way and is delivered again after the
# visibility timeout (the tasks are idempotent; the sweeps re-queue alerts and enrichment within
# seconds), so the worker logs it and goes on reconnecting instead of exiting.
_CLOSED = "the broker connection this message came on is closed"


def _restore_unacked_or_leave_to_redelivery(self: kombu_redis.QoS, client: Any = None) -> Any:
    try:
        return _restore_unacked(self, client)
    except AttributeError as exc:
        delivered = self._delivered if self._delivered is not None else {}
        logger.warning("could not restore %d unacknowledged message(s): %s (%s); they are delivered again "
                       "after the visibility timeout", len(delivered), _CLOSED, exc)
        delivered.clear()
        return None


def _ack_or_leave_to_redelivery(self: kombu_redis.QoS, delivery_tag: Any) -> Any:
    try:
        return _ack(self, delivery_tag)
    except AttributeError as exc:
        logger.warning("could not acknowledge message %s: %s (%s); it is delivered again after the "
                       "visibility timeout", delivery_tag, _CLOSED, exc)
        if self._delivered is not None:
            self._delivered.pop(delivery_tag, None)
        return None


# The class itself is patched: every redis Channel makes its QoS from it (and the tests check it).
kombu_redis.QoS.restore_unacked = _restore_unacked_or_leave_to_redelivery  # type: ignore[method-assign]
kombu_redis.QoS.ack = _ack_or_leave_to_redelivery  # type: ignore[method-assign]
