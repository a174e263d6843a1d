"""Celery entry point of the scheduled report e-mails (see reporting.services)."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task

from reporting import services
from reporting.rollup_services import fold_alert_rollups

logger = logging.getLogger(__name__)


@shared_task(name=services.TASK_NAME, bind=True, autoretry_for=(smtplib.SMTPException, OSError),
             retry_backoff=30, retry_backoff_max=300, max_retries=3)  # < visibility timeout
def send_scheduled_report(self, **kwargs) -> dict:
    """Send one report e-mail; bad arguments are logged (and not retried), SMTP failures retried."""
    try:
        report = services.validate_report_kwargs(kwargs)
    except services.ReportScheduleError as exc:
        logger.error("scheduled report not sent, bad arguments %r: %s. Fix the periodic task's kwargs in the "
                     "admin (Periodic tasks).", kwargs, exc)
        return {"sent": False, "error": str(exc)}
    return services.send_report(report)


@shared_task(name="reporting.tasks.fold_report_rollups", ignore_result=True)
def fold_report_rollups() -> int:
    """Periodic (SOAR_REPORT_ROLLUP_FOLD_SECONDS): keeps the deltas the dashboard adds up short."""
    return fold_alert_rollups()
