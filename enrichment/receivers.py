"""Automatic enrichment, in reaction to the alerts app's signals.

Alerts put in a case (opening it or joining it): a durable request is written in the same
transaction (enrichment.follow_up), published after the commit, swept if it is left open.
Alerts left in the queue are enriched only when SOAR_ENRICH_QUEUED_ALERTS is on, best effort
(no case is waiting for that evidence)."""

import logging

from django.conf import settings

from enrichment import follow_up, selectors
from soar import queue

logger = logging.getLogger(__name__)


def on_case_alerts_added(sender, case_id, alert_ids=None, opened=False, observables_added=True, **kwargs):
    """Alerts put in one case. ``observables_added`` (optional, True when the sender does not
    say): the alerts gave the case an observable it lacked."""
    if not settings.SOAR_ENRICHMENT_AUTO:
        return
    follow_up.record_requests(_needing_enrichment([(case_id, opened, observables_added)]))


def on_cases_alerts_added(sender, cases, **kwargs):
    """The same for the cases of a chunk: one statement and one publish for all of them."""
    if not settings.SOAR_ENRICHMENT_AUTO:
        return
    follow_up.record_requests(_needing_enrichment([(case.case_id, case.opened, case.observables_added)
                                                   for case in cases]))


def _needing_enrichment(cases: list[tuple[int, bool, bool]]) -> list[tuple[int, bool]]:
    """(case id, opened) of the cases among (case id, opened, observables added) that need an
    enrichment request.

    A case the alerts joined without bringing it an observable it lacked has nothing new to
    enrich: every (provider, observable) pair is answered already, or is being answered by its
    open request. It is left out, unless a provider failed on one of its observables and has
    not answered it since (the next alert retries the look-up, as it always has). In a storm
    most alerts repeat their case's observables: requesting every case of every chunk
    cost about as much worker and PostgreSQL CPU as the correlation itself (bench/results.md)."""
    unchanged = [case_id for case_id, opened, added in cases if not (opened or added)]
    retry = selectors.cases_with_unanswered_failures(unchanged) if unchanged else set()
    return [(case_id, opened) for case_id, opened, added in cases if opened or added or case_id in retry]


def on_alerts_processed(sender, alert_ids, **kwargs):
    if not (settings.SOAR_ENRICHMENT_AUTO and settings.SOAR_ENRICH_QUEUED_ALERTS) or not alert_ids:
        return
    try:
        queue.enqueue("enrichment.tasks.enrich_alerts", list(alert_ids), queued_only=True)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not queue enrichment of %d alert(s) (%s)", len(alert_ids), exc.__class__.__name__)
