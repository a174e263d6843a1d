"""Django with nothing but DRF, for the benchmark floors (bench/floor.py, bench/floor_durable.py):
no middleware, no authentication, no database settings; the module given is the URLconf."""

import django
from django.conf import settings


def configure(urlconf: str) -> None:
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-floor",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=urlconf,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=[],
        DATABASES={},
        REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [], "DEFAULT_PERMISSION_CLASSES": [],
                        "UNAUTHENTICATED_USER": None},
    )
    django.setup()
