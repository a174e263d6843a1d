"""The webhook's JSON limits skip the per-value walk when the body text cannot hold a NUL, a
64-bit overflow or an infinite float: that shortcut must give the same verdict as the walk."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soar.json_limits import json_problem

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["a\x00b", "\\u0000", "1" * 19, "1e400"]),
)
documents = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=5), children, max_size=4)), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(documents, st.integers(min_value=1, max_value=6))
def test_shortcut_and_full_walk_agree(document, depth):
    body = json.dumps(document).encode()
    assert json_problem(json.loads(body), depth, body) == json_problem(json.loads(body), depth)


@pytest.mark.parametrize("body, problem", [
    (b'{"a": "x\\u0000y"}', "NUL"),
    (b'{"a\\u0000": 1}', "NUL"),
    (b'{"n": 9223372036854775808}', "64 bits"),
    (b'{"n": -9223372036854775809}', "64 bits"),
    (b'{"f": 1e400}', "finite"),
    (b'[[[[[1]]]]]', "nested deeper"),
])
def test_every_refusal_survives_the_shortcut(body, problem):
    verdict = json_problem(json.loads(body), 4, body)
    assert verdict is not None and problem in verdict


def test_an_ordinary_batch_passes_without_the_walk():
    body = json.dumps([{"title": f"t{i}", "n": i, "f": 0.5, "data": {"k": [1, 2]}} for i in range(1000)]).encode()
    assert json_problem(json.loads(body), 32, body) is None
