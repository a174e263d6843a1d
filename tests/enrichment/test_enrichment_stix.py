"""STIX 2.1 import: patterns parsed by the OASIS stix2-patterns library; only plain equality
observations of supported types are imported, anything else is skipped with its reason (the
former regex imported the '=' term of "a = x AND b != y" and raised on a string ``labels``)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from enrichment.importers import parse_stix_bundle
from enrichment.models import Indicator

SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"
MD5 = "44d88612fea8a8f36de82e1278abb02f"


def bundle(*patterns, **extra) -> str:
    objects = [{"type": "indicator", "spec_version": "2.1", "id": f"indicator--{index}", "pattern_type": "stix",
                "pattern": pattern, "valid_from": "2024-01-01T00:00:00Z", **extra}
               for index, pattern in enumerate(patterns)]
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects})


@pytest.mark.parametrize("pattern, expected", [
    ("[ipv4-addr:value = '192.0.2.1']", {("ip", "192.0.2.1")}),
    ("[ipv6-addr:value = '2001:db8::1']", {("ip", "2001:db8::1")}),
    ("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
     {("domain", "a.example"), ("domain", "b.example")}),
    ("[url:value = 'http://files.example/x.exe'] OR [email-addr:value = 'evil@bad.example']",
     {("url", "http://files.example/x.exe"), ("email", "evil@bad.example")}),
    (f"[file:hashes.'SHA-256' = '{SHA256}']", {("hash", SHA256)}),
    (f"[file:hashes.MD5 = '{MD5}' AND file:hashes.'SHA-256' = '{SHA256}']", {("hash", MD5), ("hash", SHA256)}),
])
def test_plain_equality_patterns_are_imported(pattern, expected):
    result = parse_stix_bundle(bundle(pattern))
    assert {(item.type, item.value) for item in result.items} == expected
    assert result.skipped == []


@pytest.mark.parametrize("pattern, reason", [
    ("[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value != '192.0.2.2']", "comparisons joined by AND"),
    ("[ipv4-addr:value != '192.0.2.2']", "operator '!='"),
    ("[domain-name:value = 'a.example' OR domain-name:value LIKE '%.example']", "operator 'LIKE'"),
    ("[domain-name:value = 'a.example' OR domain-name:value MATCHES '^x']", "operator 'MATCHES'"),
    ("[domain-name:value = 'a.example' OR domain-name:value NOT = 'b.example']", "operator 'NOT ='"),
    ("[network-traffic:dst_port = 443] AND [ipv4-addr:value = '192.0.2.1']", "observations joined by AND"),
    ("[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [domain-name:value = 'a.example']", "FOLLOWEDBY"),
    ("[ipv4-addr:value = '192.0.2.1' AND domain-name:value = 'a.example']", "comparisons joined by AND"),
    ("[ipv4-addr:value = '192.0.2.1'] WITHIN 60 SECONDS", "qualifier"),
    ("[file:name = 'x.exe']", "unsupported term file:name"),
    ("[ipv4-addr:value = '192.0.2.1'", "not a valid STIX pattern"),
    pytest.param("[" + "(" * 3000 + "ipv4-addr:value = '192.0.2.1'" + ")" * 3000 + "]", "nested too deeply",
                 id="deep-nesting"),
    pytest.param("[ipv4-addr:value = '" + "1" * 10_000 + "']", "longer than 10000", id="too-long"),
])
def test_other_patterns_are_skipped_with_their_reason(pattern, reason):
    # Next to a supported indicator, so the import goes on with it.
    result = parse_stix_bundle(bundle(pattern, "[ipv4-addr:value = '198.51.100.7']"))
    assert [(item.type, item.value) for item in result.items] == [("ip", "198.51.100.7")]
    assert len(result.skipped) == 1
    assert result.skipped[0].startswith("object 0 (indicator--0): skipped:")
    assert reason in result.skipped[0]


@pytest.mark.parametrize("labels, verdict", [("benign", "benign"), (["suspicious"], "suspicious"),
                                             ("anomalous-activity", "suspicious"), (None, "malicious")])
def test_labels_may_be_a_string_or_a_list(labels, verdict):
    result = parse_stix_bundle(bundle("[ipv4-addr:value = '192.0.2.1']", labels=labels,
                                      indicator_types="malicious-activity"))
    assert [item.verdict for item in result.items] == [verdict]


@pytest.mark.django_db
def test_import_command_reports_skipped_indicators(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(bundle("[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value != '192.0.2.2']",
                           "[domain-name:value = 'c2.example']"))
    out, err = StringIO(), StringIO()
    call_command("import_intel", str(path), stdout=out, stderr=err)
    assert set(Indicator.objects.values_list("type", "value")) == {("domain", "c2.example")}
    assert "1 indicator(s) skipped" in out.getvalue()
    assert "indicator--0" in err.getvalue() and "comparisons joined by AND" in err.getvalue()


def test_an_import_problem_is_invalid_input():
    from enrichment.importers import ImportProblem
    from soar import errors

    problem = ImportProblem("line 2: unknown indicator type 'x'.")
    assert isinstance(problem, errors.InvalidInput) and problem.body()["code"] == "invalid_import"
