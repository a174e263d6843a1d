"""Property tests: any valid generic-schema alert round-trips through the normalizer with its
meaning intact, and the normalizer is idempotent."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.adapters import parse_payload
from alerts.normalization import SEVERITIES

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
title = text.filter(lambda s: s.strip())
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
user = st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True)
domain = st.from_regex(r"[a-z][a-z0-9-]{0,20}\.(com|net|org|test)", fullmatch=True)
sha256 = st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
observable = st.one_of(
    st.builds(lambda v: {"type": "ip", "value": v}, ipv4),
    st.builds(lambda v: {"type": "user", "value": v}, user),
    st.builds(lambda v: {"type": "domain", "value": v}, domain),
    st.builds(lambda v: {"type": "hash", "value": v}, sha256),
)
occurred = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2026, 11, 1),
                        timezones=st.just(dt.UTC))

alert = st.fixed_dictionaries(
    {"title": title},
    optional={
        "severity": st.sampled_from(SEVERITIES),
        "confidence": st.integers(0, 100),
        "source_ref": text,
        "description": text,
        "category": text,
        "entity": observable,
        "observables": st.lists(observable, max_size=5),
        "occurred_at": occurred.map(lambda d: d.isoformat()),
        "data": st.dictionaries(text, st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), text), max_size=4),
    },
)


@settings(max_examples=300, deadline=None)
@given(alert)
def test_generic_alert_round_trips(payload):
    [normalized] = parse_payload("generic", payload)
    assert normalized.title == payload["title"].strip()[:500]
    assert normalized.severity == payload.get("severity", "medium")
    assert normalized.confidence == payload.get("confidence", 50)
    assert normalized.raw == payload
    if "occurred_at" in payload:
        assert normalized.occurred_at == dt.datetime.fromisoformat(payload["occurred_at"])
    keys = {o.key() for o in normalized.observables}
    if "entity" in payload:
        entity = payload["entity"]
        assert (normalized.entity_type, normalized.entity_value) == (entity["type"], entity["value"].lower())
    for item in payload.get("observables", []):
        assert f"{item['type']}:{item['value'].lower()}" in keys or len(keys) >= 200


@settings(max_examples=200, deadline=None)
@given(alert)
def test_normalizing_twice_gives_the_same_alert(payload):
    [first] = parse_payload("generic", payload)
    again = {
        "title": first.title, "severity": first.severity, "confidence": first.confidence,
        "source_ref": first.source_ref, "description": first.description, "category": first.category,
        "observables": [{"type": o.type, "value": o.value} for o in first.observables],
        "fingerprint": first.fingerprint,
    }
    if first.entity_value:
        again["entity"] = {"type": first.entity_type, "value": first.entity_value}
    if first.occurred_at:
        again["occurred_at"] = first.occurred_at.isoformat()
    [second] = parse_payload("generic", again)
    for field in ("title", "severity", "confidence", "source_ref", "description", "category", "entity_type",
                  "entity_value", "fingerprint", "occurred_at"):
        assert getattr(second, field) == getattr(first, field), field
    assert [o.key() for o in second.observables] == [o.key() for o in first.observables]
