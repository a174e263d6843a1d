"""Property tests: on ANY JSON, every adapter returns finalized alerts or raises
NormalizationError (the API's 400), never another exception (a 500).

Pure Python: no Django settings or database needed.
"""

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.adapters import adapter_choices, parse_payload
from alerts.normalization import ENTITY_TYPES, SEVERITIES, NormalizationError, Observable

pytestmark = []

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "adapters"
KINDS = sorted(kind for kind, _ in adapter_choices())
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow],
)

# Legal JSON that trips naive code: past float range, past CPython's 4300-digit str() limit.
# Built lazily: hypothesis reprs strategies, and repr() of a 5000-digit int itself raises.
HUGE_INTS = st.builds(lambda sign, exp: sign * 10**exp, st.sampled_from([1, -1]), st.sampled_from([19, 40, 400, 5000]))


def json_values(huge_ints=True):
    leaves = (
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
        # Values the adapters look for, so generated payloads get past the type checks.
        | st.sampled_from(["", "\x00", "203.0.113.7", "web-01.example.com:9100", "[::1]:9100", "http://[bad/",
                           "https://example.com/x", "alert", "resolved", "firing", "4", "high", "12",
                           "2026-11-25T10:00:00Z", "1795599540", "a@example.com", "x <a@b.test>",
                           "e3b7c7f1a9d8e2b4c6a5f0d1e2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f"])
    )
    if huge_ints:
        leaves = leaves | HUGE_INTS
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
        max_leaves=15,
    )


def fixtures_for(kind):
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / kind).glob("*.json"))]


def paths(node, prefix=()):
    """Every position in a JSON document (containers included), as a key path."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, prefix + (index,))


def replace_at(doc, path, value):
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return doc


@st.composite
def mutated_fixture(draw, kind, huge_ints=True):
    doc = copy.deepcopy(draw(st.sampled_from(fixtures_for(kind))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        candidates = list(paths(doc))
        path = draw(st.sampled_from(candidates))
        if path and draw(st.booleans()) and isinstance(_get(doc, path[:-1]), dict):
            del _get(doc, path[:-1])[path[-1]]  # missing fields matter as much as wrong ones
        else:
            doc = replace_at(doc, path, draw(json_values(huge_ints)))
    return doc


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


def check(kind, payload):
    before = copy.deepcopy(payload)
    try:
        alerts = parse_payload(kind, payload)
    except NormalizationError as exc:
        assert isinstance(exc.errors, dict) and exc.errors
        assert all(isinstance(k, str) and isinstance(v, list) and v for k, v in exc.errors.items())
        return
    assert payload == before  # adapters must not mutate the input
    assert alerts
    for alert in alerts:
        assert alert.title and len(alert.title) <= 500
        assert alert.severity in SEVERITIES
        assert isinstance(alert.confidence, int) and 0 <= alert.confidence <= 100
        assert len(alert.description) <= 20_000 and len(alert.source_ref) <= 255
        assert isinstance(alert.fingerprint, str) and 0 < len(alert.fingerprint) <= 64
        assert all(isinstance(o, Observable) and o.type in ENTITY_TYPES for o in alert.observables)
        assert len(alert.observables) <= 200
        if alert.entity_value:
            assert f"{alert.entity_type}:{alert.entity_value}" in {o.key() for o in alert.observables}
        assert alert.occurred_at is None or alert.occurred_at.tzinfo is not None
        assert alert.occurred_at is None or alert.occurred_at <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert alert.raw is not None


def test_property_suite_covers_every_adapter():
    assert set(KINDS) >= {"generic", "elastic", "splunk", "wazuh", "suricata", "alertmanager", "grafana",
                         "email"}
    assert all(fixtures_for(kind) for kind in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_arbitrary_json(kind):
    @PROPERTY_SETTINGS
    @given(payload=json_values(huge_ints=True))
    def run(payload):
        check(kind, payload)

    run()


@pytest.mark.parametrize("kind", KINDS)
def test_mutated_fixtures(kind):
    @PROPERTY_SETTINGS
    @given(payload=mutated_fixture(kind, huge_ints=True))
    def run(payload):
        check(kind, payload)

    run()


@pytest.mark.parametrize("kind", KINDS)
def test_fixtures_wrapped_in_lists_and_batches(kind):
    @PROPERTY_SETTINGS
    @given(items=st.lists(st.sampled_from(fixtures_for(kind)) | json_values(kind != "generic"), max_size=3),
           wrap=st.sampled_from(["list", "alerts", "alerts-group"]))
    def run(items, wrap):
        payload = {"list": items, "alerts": {"alerts": items}, "alerts-group": {"version": "4", "alerts": items}}[wrap]
        check(kind, copy.deepcopy(payload))

    run()
