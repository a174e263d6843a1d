import gc
import os

from celery import Celery
from celery.signals import worker_process_init

from soar.task_context import ContextTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")

# ContextTask: a task published while serving a request carries its request id (soar/task_context.py).
app = Celery("soar", task_cls=ContextTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages with their own tasks.py (autodiscovery only looks at each app's top level).
app.autodiscover_tasks(["cases.reporting"])


@worker_process_init.connect
def _freeze_loaded_objects(**kwargs):
    """Same as soar/wsgi.py: collections skip the objects loaded at start-up."""
    gc.freeze()
