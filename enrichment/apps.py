from django.apps import AppConfig


class EnrichmentConfig(AppConfig):
    name = "enrichment"
    verbose_name = "Enrichment"

    def ready(self):
        from alerts.signals import alerts_processed, case_opened
        from enrichment import receivers

        case_opened.connect(receivers.on_case_opened, dispatch_uid="enrichment.case_opened")
        alerts_processed.connect(receivers.on_alerts_processed, dispatch_uid="enrichment.alerts_processed")
