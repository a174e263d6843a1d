import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")

app = Celery("soar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
