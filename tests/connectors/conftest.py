import pytest

from tests.connectors.connector_fakes import API_KEY, FakeSearch, FakeSplunk


@pytest.fixture
def elastic():
    server = FakeSearch(".alerts-security.alerts-default").start()
    yield server
    server.stop()


@pytest.fixture
def splunk():
    server = FakeSplunk().start()
    yield server
    server.stop()


@pytest.fixture
def make_connector(db, make_source, allow_localhost):
    from connectors.models import PullConnector

    def factory(server, *, kind="elasticsearch", source_kind="elastic", name="siem-pull", secret=API_KEY,
                page_size=2, **fields):
        source, _ = make_source(name=f"{name}-source", kind=source_kind)
        options = fields.pop("options", {})
        if kind == "elasticsearch":
            options = {"index": ".alerts-security.alerts-default", **options}
        return PullConnector.objects.create(name=name, kind=kind, endpoint=server.url, secret=secret, source=source,
                                            page_size=page_size, options=options, timeout_seconds=5, **fields)

    return factory
