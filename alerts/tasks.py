from celery import shared_task

from alerts import correlation, outbox, resolution, services
from soar.task_retry import DATABASE_RETRY


@shared_task(acks_late=True, **DATABASE_RETRY)
def process_alerts(alert_ids: list[int]) -> None:
    correlation.process_alerts(alert_ids)


@shared_task
def sweep_unprocessed_alerts() -> int:
    # Remembered webhook signatures past their timestamp window: the window check refuses them now.
    services.forget_expired_signatures()
    return outbox.sweep_unprocessed_alerts()


@shared_task(acks_late=True, **DATABASE_RETRY)
def apply_resolution(alert_ids: list[int]) -> None:
    resolution.apply_resolution(alert_ids)
