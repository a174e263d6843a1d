from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate

from search.fts import FTS_TABLES, ensure_fts


def _heal_fts(using: str = "default", **kwargs) -> None:
    """After every migrate: put back the SQLite triggers a table rebuild dropped (search/fts.py),
    unless the FTS tables are not there (``migrate search zero`` removed them)."""
    connection = connections[using]
    if connection.vendor == "sqlite" and FTS_TABLES[0][0] in connection.introspection.table_names():
        ensure_fts(connection)


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        post_migrate.connect(_heal_fts, sender=self, dispatch_uid="search.heal_fts")
