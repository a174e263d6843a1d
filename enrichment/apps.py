from django.apps import AppConfig


class EnrichmentConfig(AppConfig):
    name = "enrichment"
    verbose_name = "Enrichment"

    def ready(self):
        from alerts.signals import alerts_processed, case_alerts_added, cases_alerts_added
        from enrichment import receivers

        case_alerts_added.connect(receivers.on_case_alerts_added, dispatch_uid="enrichment.case_alerts_added")
        cases_alerts_added.connect(receivers.on_cases_alerts_added, dispatch_uid="enrichment.cases_alerts_added")
        alerts_processed.connect(receivers.on_alerts_processed, dispatch_uid="enrichment.alerts_processed")
