"""Events other apps react to (enrichment, playbooks) without the alerts app importing them.

``alerts_processed`` is sent after the transaction commits, so receivers always see the stored
rows; it is best effort (a receiver that fails, or a process that dies right after the commit,
loses what it would have started).

``case_alerts_added`` is sent *inside* the transaction that puts alerts in a case (opening it
or joining it): receivers write a durable record of their follow-up work in that transaction,
so the record commits with the case or not at all, and only publish after the commit
(``transaction.on_commit``); a beat sweep in the receiving app picks up records left undone.
``opened=True`` is the event "alerts opened a case" (there is no separate after-commit signal
for it: nothing listened to one, and a receiver that needs the commit uses on_commit)."""

from django.dispatch import Signal

# kwargs: alert_ids (list[int])
alerts_processed = Signal()
# kwargs: case_id (int), alert_ids (list[int]), opened (bool: the case was opened by these alerts),
# promoted (bool, optional: an analyst opened it from queued alerts, processed earlier)
case_alerts_added = Signal()
