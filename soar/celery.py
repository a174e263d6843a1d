import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")

app = Celery("soar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages with their own tasks.py (autodiscovery only looks at each app's top level).
app.autodiscover_tasks(["cases.reporting"])
