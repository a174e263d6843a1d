"""Reading an eager task's result in a unit test.

``EagerResult.get()`` refuses to run while Celery's process-wide "a join would block" flag is
set, and every eager ``apply_async`` sets that flag for as long as it runs, in whichever thread.
The embedded mode runs follow-ups and pull connectors in background threads of the same
process: a test's ``.get()`` then failed now and then with "Never call result.get() within a
task" (two full runs in one session). A test reading its own eager result asks ``.get()`` to
skip that check instead of toggling the shared flag."""

EAGER_GET = {"disable_sync_subtasks": False}
