"""Every environment variable the settings read is documented in the README's table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_variable_is_in_the_readme():
    settings_text = (ROOT / "soar" / "settings.py").read_text()
    readme = (ROOT / "README.md").read_text()
    names = set(re.findall(r'env(?:_bool|_int|_list)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_text))
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SOAR_SECRET_KEY"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"settings read from the environment but not in the README table: {missing}"
