import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")
application = get_wsgi_application()

# Load every view now, then move the loaded code and settings out of the garbage collector's
# reach: otherwise each full collection re-scans ~100k long-lived objects, which costs a
# 1,000-alert batch request about 10% of its time.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
gc.freeze()

# The embedded mode (no broker) runs the beat schedule in a thread of one web process.
from soar.embedded_beat import beat  # noqa: E402

beat.start()
