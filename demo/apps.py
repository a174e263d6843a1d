from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a first look (`manage.py load_demo_data`): the top floor, since it feeds
    alerts through every app's real services. No models."""

    name = "demo"
    verbose_name = "Demo data"
