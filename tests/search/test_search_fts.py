"""SQLite (embedded mode): the FTS5 trigram tables behind the search stay in step with their
tables (triggers), are healed after a migrate, and are what the search reads."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertSource
from cases import services
from search import fts, selectors
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def _kinds(user, text):
    return {g.kind: g.count for g in selectors.search(user, text).groups}


def test_inserts_updates_and_deletes_reach_the_index(w):
    note = services.add_note(w.blue_case, "Seen beaconing to qq-c2.example.test", actor=w.analyst)
    assert _kinds(w.analyst, "qq-c2.example")["notes"] == 1
    note.body = "Nothing here after all"
    note.save()
    assert _kinds(w.analyst, "qq-c2.example")["notes"] == 0
    assert _kinds(w.analyst, "after all")["notes"] == 1
    note.delete()
    assert _kinds(w.analyst, "after all")["notes"] == 0
    source = AlertSource.objects.create(name="s", kind="generic", token_hash="s" * 64, default_team=w.blue)
    alert = Alert.objects.create(source=source, title="Odd DNS TXT burst", severity="low", fingerprint="x",
                                 entity_value="ZZ-host-77")
    assert _kinds(w.analyst, "zz-HOST-7")["alerts"] == 1  # case-insensitive substring
    Alert.objects.filter(pk=alert.pk).update(entity_value="other")
    assert _kinds(w.analyst, "zz-host")["alerts"] == 0


def test_the_search_reads_the_fts_tables_on_sqlite(w):
    with CaptureQueriesContext(connection) as queries:
        selectors.search(w.analyst, "phishing")
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("search_fts_case", "search_fts_alert", "search_fts_observable", "search_fts_note"):
        assert table in sql, table
    assert [c.pk for c in selectors.search(w.analyst, "phishing wave").groups[0].items] == [w.blue_case.pk]


def test_migrate_puts_back_triggers_a_table_rebuild_dropped(w):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER search_fts_case_ai")  # what Django's SQLite table rebuild does
    lost = services.open_case(title="Lost in the index xyzzy", severity="low", team=w.blue)
    assert _kinds(w.admin, "xyzzy")["cases"] == 0
    fts.ensure_fts(connection)  # run after every migrate (post_migrate)
    assert _kinds(w.admin, "xyzzy")["cases"] == 1
    again = services.open_case(title="Found xyzzy again", severity="low", team=w.blue)
    assert {c.pk for c in selectors.search(w.admin, "xyzzy").groups[0].items} == {lost.pk, again.pk}


def test_quotes_and_operators_in_the_text_are_plain_text(w):
    services.add_note(w.blue_case, 'He said "AND" OR NOT -x* near(1)', actor=w.analyst)
    for text in ('"AND" OR', "NOT -x*", "near(1)", '"'):
        kinds = selectors.search(w.analyst, text * (3 if len(text) < 3 else 1))
        assert kinds is not None
    assert _kinds(w.analyst, '"AND" OR')["notes"] == 1
