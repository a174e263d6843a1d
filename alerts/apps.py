from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and ingestion"

    def ready(self):
        from alerts.models import AlertSource
        from alerts.services import forget_cached_sources

        # A disabled, rotated or deleted source stops authenticating at once in this process.
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: forget_cached_sources(), sender=AlertSource, weak=False,
                           dispatch_uid=f"alerts-source-cache-{signal is post_save}")
