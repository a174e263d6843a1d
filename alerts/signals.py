"""Events other apps react to (enrichment, playbooks) without the alerts app importing them.

``alerts_processed`` is sent after the transaction commits, so receivers always see the stored
rows; it is best effort (a receiver that fails, or a process that dies right after the commit,
loses what it would have started).

``case_alerts_added`` is sent *inside* the transaction that puts alerts in a case (opening it
or joining it): receivers write a durable record of their follow-up work in that transaction,
so the record commits with the case or not at all, and only publish after the commit
(``transaction.on_commit``); a beat sweep in the receiving app picks up records left undone.
``opened=True`` is the event "alerts opened a case" (there is no separate after-commit signal
for it: nothing listened to one, and a receiver that needs the commit uses on_commit).

``cases_alerts_added`` is the same event for many cases at once (a chunk of alerts correlated in
one transaction: alerts.correlation.process_chunk), so that receivers write their records for
all of them in one statement and publish their follow-ups once, not once per case."""

from typing import NamedTuple

from django.dispatch import Signal

# kwargs: alert_ids (list[int])
alerts_processed = Signal()
# kwargs: case_id (int), alert_ids (list[int]), opened (bool: the case was opened by these alerts),
# promoted (bool, optional: an analyst opened it from queued alerts, processed earlier),
# observables_added (bool, optional, True when absent: as CaseAlerts.observables_added)
case_alerts_added = Signal()
# kwargs: cases (list[CaseAlerts]), in the order the cases were touched; a case appears once
cases_alerts_added = Signal()


class CaseAlerts(NamedTuple):
    """One case of ``cases_alerts_added``: the kwargs of ``case_alerts_added``."""

    case_id: int
    alert_ids: list[int]
    opened: bool
    # The alerts brought the case an observable it did not have. False: every observable of
    # these alerts was on the case already (enrichment has nothing new to look up).
    observables_added: bool = True
