"""The audit log is append-only in the database, not only in AuditLog.save()/delete(): a
queryset update() or delete(), raw SQL or a bulk tool is refused by a trigger, on PostgreSQL
and on SQLite (embedded mode) alike.

One change stays possible: ON DELETE SET NULL of ``actor_id`` (Django does it when a user is
deleted), with every other column unchanged; the actor's name stays in ``actor_label``.
TRUNCATE (the test suite's flush on PostgreSQL, a deliberate reset by the database owner)
fires no row trigger. Tests flushing SQLite drop and re-create these triggers around the
flush (tests/conftest.py)."""

from django.db import migrations

from soar.migration_ops import per_vendor

MESSAGE = "cases_auditlog is append-only: audit rows cannot be changed or deleted"

POSTGRESQL = [f"""
CREATE OR REPLACE FUNCTION soar_auditlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A user's deletion sets actor_id to NULL (Django's SET_NULL); nothing else may change.
  IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
     AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
END $$;
""", """
CREATE TRIGGER soar_auditlog_append_only BEFORE UPDATE OR DELETE ON cases_auditlog
FOR EACH ROW EXECUTE FUNCTION soar_auditlog_append_only();
"""]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS soar_auditlog_append_only ON cases_auditlog",
    "DROP FUNCTION IF EXISTS soar_auditlog_append_only()",
]

# SQLite: UPDATE OF fires when a column is in the SET list, whatever its value.
SQLITE_OTHER_COLUMNS = ("id, actor_label, action, object_type, object_id, object_repr, before, after, "
                        "request_id, client_ip, created_at")
SQLITE = [
    f"""CREATE TRIGGER soar_auditlog_no_update BEFORE UPDATE OF {SQLITE_OTHER_COLUMNS} ON cases_auditlog
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER soar_auditlog_actor_only_to_null BEFORE UPDATE OF actor_id ON cases_auditlog
    WHEN NEW.actor_id IS NOT NULL OR OLD.actor_id IS NULL
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER soar_auditlog_no_delete BEFORE DELETE ON cases_auditlog
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS soar_auditlog_no_update",
    "DROP TRIGGER IF EXISTS soar_auditlog_actor_only_to_null",
    "DROP TRIGGER IF EXISTS soar_auditlog_no_delete",
]


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0008_alerts_resolved_event"),
    ]

    operations = [
        per_vendor({"postgresql": POSTGRESQL, "sqlite": SQLITE},
                   {"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD}),
    ]
