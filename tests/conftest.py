import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(relative: str):
    return json.loads((FIXTURES / relative).read_text())


@pytest.fixture
def make_source(db):
    """Create an AlertSource; returns (source, plaintext token)."""
    from alerts.models import AlertSource, CorrelationRule

    # Transactional tests flush the table that the data migration filled.
    CorrelationRule.objects.get_or_create(name="Same entity within 15 minutes", defaults={"priority": 1000})

    def factory(name="siem", kind="generic", hmac_secret="", team=None, enabled=True):
        source = AlertSource(name=name, kind=kind, hmac_secret=hmac_secret, default_team=team, enabled=enabled)
        token = source.rotate_token()
        source.save()
        return source, token

    return factory
