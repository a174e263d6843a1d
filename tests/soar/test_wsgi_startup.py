"""The WSGI module loads every view, freezes what it loaded out of the collector's reach, and in
the embedded mode starts the embedded beat."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wsgi_import_loads_the_urlconf_and_freezes_it(tmp_path):
    code = ("import gc, sys, soar.wsgi; from soar.embedded_beat import beat; "
            "print(gc.get_freeze_count(), 'alerts.api.views' in sys.modules, 'cases.views' in sys.modules, "
            "beat.running())")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**env, "SOAR_VAR_DIR": str(tmp_path)}, check=True).stdout.split()
    frozen, views_loaded, pages_loaded, beat_running = int(out[0]), out[1], out[2], out[3]
    assert frozen > 10_000
    assert views_loaded == "True" and pages_loaded == "True"
    assert beat_running == "True"  # the embedded mode (no broker): this web process runs the schedules


def test_no_embedded_beat_with_a_broker(tmp_path):
    code = "import soar.wsgi; from soar.embedded_beat import beat; print(beat.running())"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**env, "SOAR_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"},
                         check=True).stdout.split()
    assert out == ["False"]  # the beat process runs them
