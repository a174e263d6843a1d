import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")

app = Celery("soar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages with their own tasks.py (autodiscovery only looks at each app's top level).
app.autodiscover_tasks(["cases.reporting"])


@worker_process_init.connect
def _freeze_loaded_objects(**kwargs):
    """Same as soar/wsgi.py: collections skip the objects loaded at start-up."""
    gc.freeze()
