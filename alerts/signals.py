"""Events other apps react to (enrichment, playbooks) without the alerts app importing them.
Sent after the transaction commits, so receivers always see the stored rows."""

from django.dispatch import Signal

# kwargs: alert_ids (list[int])
alerts_processed = Signal()
# kwargs: case_id (int), alert_ids (list[int])
case_opened = Signal()
