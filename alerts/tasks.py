from celery import shared_task
from django.conf import settings

from alerts import correlation, outbox, resolution, retention, services
from soar import queue
from soar.task_retry import DATABASE_RETRY

# A purge run starts no batch after this long (within the task time limit); what is left is
# queued again at once, behind the sweeps already waiting.
PURGE_RUN_SECONDS = 120


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


@shared_task
def purge_old_alerts() -> int:
    result = retention.purge_expired_alerts(
        max_seconds=min(PURGE_RUN_SECONDS, settings.CELERY_TASK_SOFT_TIME_LIMIT / 2))
    if not result.complete:
        queue.publish("alerts.tasks.purge_old_alerts", [], what="the rest of the alert purge")
    return result.alerts
