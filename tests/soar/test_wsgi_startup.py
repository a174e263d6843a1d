"""The WSGI module loads every view and freezes what it loaded out of the collector's reach."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wsgi_import_loads_the_urlconf_and_freezes_it(tmp_path):
    code = ("import gc, sys, soar.wsgi; "
            "print(gc.get_freeze_count(), 'alerts.api.views' in sys.modules, 'cases.views' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**env, "SOAR_VAR_DIR": str(tmp_path)}, check=True).stdout.split()
    frozen, views_loaded, pages_loaded = int(out[0]), out[1], out[2]
    assert frozen > 10_000
    assert views_loaded == "True" and pages_loaded == "True"
