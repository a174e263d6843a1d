"""soar.dotted.dig: the one way adapters, the generic JSON provider and playbook templates read a path."""

from soar.dotted import dig

DATA = {"rule": {"name": "SSH brute force", "groups": ["sshd", {"id": 7}], "none": None}, "0": "key"}


def test_dicts_lists_and_defaults():
    assert dig(DATA, "rule.name") == "SSH brute force"
    assert dig(DATA, "rule.groups.1.id") == 7
    assert dig(DATA, "rule.groups.5") is None
    assert dig(DATA, "rule.missing", default="?") == "?"
    assert dig(DATA, "rule.name.deeper", default="?") == "?"  # a string has no parts


def test_a_stored_none_is_none_and_a_digit_key_is_a_key():
    assert dig(DATA, "rule.none", default="?") is None
    assert dig(DATA, "0") == "key"
    assert dig(DATA, "") is DATA
