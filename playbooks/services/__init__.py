"""Writes of the playbooks app, by topic: definitions (save/version), runs (start, dry run,
stale-run sweep), approvals (request, decide, expire) and triggers (signals -> runs)."""
