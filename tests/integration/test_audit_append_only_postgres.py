"""The audit log's append-only trigger on PostgreSQL: the same checks as on SQLite."""

from tests.cases.test_audit_append_only import (  # noqa: F401 - collected again, here on PostgreSQL
    entry,
    pytestmark,
    test_deleting_a_user_keeps_their_audit_rows,
    test_queryset_delete_is_refused,
    test_queryset_update_is_refused,
    test_raw_sql_is_refused,
)
