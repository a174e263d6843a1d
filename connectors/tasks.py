"""Thin Celery tasks over connectors.services."""

from celery import shared_task

from connectors import services


@shared_task
def run_due_connectors() -> int:
    return services.run_due_connectors()


@shared_task
def run_connector(connector_id: int, ignore_schedule: bool = False) -> str:
    return services.run_connector(connector_id, ignore_schedule=ignore_schedule).status
