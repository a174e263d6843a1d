"""The audit log is append-only in the database itself: QuerySet.update()/delete() and raw
SQL are refused by triggers (SQLite here; PostgreSQL in tests/integration), not only the
model's save()/delete()."""

import pytest
from django.db import DatabaseError, connection, transaction

from cases.models import AuditLog
from cases.services import record_audit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def entry(django_user_model):
    user = django_user_model.objects.create_user("auditor1", password="x" * 12)
    return record_audit("case.update", None, actor=user, before={"a": 1}, after={"a": 2})


def test_queryset_update_is_refused(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(action="case.delete")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.update(after={"forged": True}, actor_label="someone else")
    entry.refresh_from_db()
    assert (entry.action, entry.after, entry.actor_label) == ("case.update", {"a": 2}, "auditor1")


def test_queryset_delete_is_refused(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.all().delete()
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_raw_sql_is_refused(entry):
    table = AuditLog._meta.db_table
    for sql in (f"UPDATE {table} SET object_repr = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert AuditLog.objects.count() == 1


def test_deleting_a_user_keeps_their_audit_rows(entry, django_user_model):
    """The one change allowed: ON DELETE SET NULL of the actor; the name stays in actor_label."""
    django_user_model.objects.filter(username="auditor1").delete()
    entry.refresh_from_db()
    assert entry.actor_id is None and entry.actor_label == "auditor1" and entry.after == {"a": 2}
    # Setting the actor back, or to someone else, is not that change.
    other = django_user_model.objects.create_user("auditor2", password="x" * 12)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(actor=other)
