"""Events other apps may react to without the cases app importing them. Sent after commit."""

from django.dispatch import Signal

# kwargs: source_id (int), target_id (int) — the source case now points to the target.
case_merged = Signal()
