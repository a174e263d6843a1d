"""Events other apps may react to without the cases app importing them. Sent after commit."""

from django.dispatch import Signal

# kwargs: source_id (int), target_id (int) — the source case now points to the target.
case_merged = Signal()

# issue 18: sent by cases.services_bulk.merge_cases INSIDE its transaction, both cases locked, so
# that what upper apps carry from the merged case (evidence files, observable flags) commits with
# the merge or not at all. kwargs: source_id (int), target_id (int). A receiver returns a dict of
# counts ({"evidence_files": 2}) for the merge's timeline entry and audit record.
case_merging = Signal()
