"""The request id (and client address) of the request that queued a Celery task travel with
it as message headers, and are bound around the task's run into the context soar.middleware
uses, so audit rows a worker writes on behalf of a request carry that request's id.

Publish: ``ContextTask.apply_async`` (the app's task class, soar/celery.py) adds the headers
from the current request context; in the embedded mode (eager tasks) the same headers reach
``Task.apply``. Run: the ``task_prerun`` receiver binds them (or an empty context, so a worker
never keeps a previous task's id), ``task_postrun`` restores the previous context."""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun

from soar.middleware import _SAFE_ID, _request_context, current_request_context

HEADERS = {"request_id": "soar_request_id", "client_ip": "soar_client_ip"}
_CONTEXT_ATTRIBUTE = "_soar_context_token"


def outgoing_headers() -> dict[str, str]:
    """Message headers for a task published now, from the current request context."""
    ctx = current_request_context()
    return {header: str(ctx[name]) for name, header in HEADERS.items() if ctx.get(name)}


def incoming_context(task_request: Any) -> dict[str, str]:
    """The request context a task was published with: a worker's request has the message
    headers as attributes, an eager one as ``request.headers``."""
    headers = getattr(task_request, "headers", None) or {}
    values: dict[str, str] = {}
    for name, header in HEADERS.items():
        value = getattr(task_request, header, None) or headers.get(header)
        if isinstance(value, str) and value:
            values[name] = value
    if "request_id" in values and not _SAFE_ID.match(values["request_id"]):
        del values["request_id"]
    return values


class ContextTask(Task):
    """The app's base task: publishing carries the current request context along."""

    def apply_async(self, args: Any = None, kwargs: Any = None, task_id: str | None = None, producer: Any = None,
                    link: Any = None, link_error: Any = None, shadow: str | None = None, **options: Any) -> Any:
        headers = outgoing_headers()
        if headers:
            options["headers"] = {**headers, **(options.get("headers") or {})}
        return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)


@task_prerun.connect(dispatch_uid="soar.task_context.bind")
def bind_task_context(task: Task | None = None, **kwargs: Any) -> None:
    if task is None or task.request is None:
        return
    setattr(task.request, _CONTEXT_ATTRIBUTE, _request_context.set(incoming_context(task.request)))


@task_postrun.connect(dispatch_uid="soar.task_context.reset")
def reset_task_context(task: Task | None = None, **kwargs: Any) -> None:
    token = getattr(task.request, _CONTEXT_ATTRIBUTE, None) if task is not None and task.request is not None else None
    if token is not None:
        try:
            _request_context.reset(token)
        except ValueError:  # set in another context (should not happen): leave an empty one
            _request_context.set({})
