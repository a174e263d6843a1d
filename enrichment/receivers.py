"""Automatic enrichment: queue work when cases open and alerts are processed. Queueing must
never break alert processing, so failures are logged only.

Both signals fire for the alerts that open a case (``case_opened`` first, from the same
``process_alerts`` call in the same thread), and the two tasks could run at the same time
on two workers; the alerts already handed to ``case_opened`` are therefore remembered
here and left out of the ``alerts_processed`` task, so the evidence is not fetched twice."""

import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)
_handled = threading.local()


def _handled_ids() -> set:
    if not hasattr(_handled, "ids"):
        _handled.ids = set()
    return _handled.ids


def on_case_opened(sender, case_id, alert_ids=None, **kwargs):
    if not settings.SOAR_ENRICHMENT_AUTO:
        return
    from enrichment.tasks import enrich_case

    handled = _handled_ids()
    if len(handled) > 10_000:  # cases opened from the UI never get an alerts_processed
        handled.clear()
    handled.update(alert_ids or [])
    try:
        enrich_case.delay(case_id)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not queue enrichment of case %s (%s)", case_id, exc.__class__.__name__)


def on_alerts_processed(sender, alert_ids, **kwargs):
    handled = _handled_ids()
    remaining = [alert_id for alert_id in alert_ids or [] if alert_id not in handled]
    handled.difference_update(alert_ids or [])
    if not settings.SOAR_ENRICHMENT_AUTO or not remaining:
        return
    from enrichment.tasks import enrich_alerts

    try:
        enrich_alerts.delay(remaining)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not queue enrichment of %d alert(s) (%s)", len(remaining), exc.__class__.__name__)
