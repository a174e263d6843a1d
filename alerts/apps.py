from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and ingestion"

    def ready(self) -> None:
        # Django-required: the services import the models, which exist only once the apps are ready.
        from alerts import attack_mapping, case_merge
        from alerts.services import forget_cached_sources
        from alerts.signals import case_alerts_added, cases_alerts_added
        from cases.signals import case_merging

        def forget_sources(**kwargs: object) -> None:
            forget_cached_sources()

        # A disabled, rotated or deleted source stops authenticating at once in this process.
        source_model = self.get_model("AlertSource")
        for signal in (post_save, post_delete):
            signal.connect(forget_sources, sender=source_model, weak=False,
                           dispatch_uid=f"alerts-source-cache-{signal is post_save}")
        # A case gets the ATT&CK techniques of the alerts put in it, in the same transaction.
        case_alerts_added.connect(attack_mapping.on_case_alerts_added, dispatch_uid="alerts.attack.case_alerts_added")
        cases_alerts_added.connect(attack_mapping.on_cases_alerts_added,
                                   dispatch_uid="alerts.attack.cases_alerts_added")
        # A merged case's observable flags (IOC, sighted, TLP...) go to the surviving case, in the merge's transaction.
        case_merging.connect(case_merge.on_case_merging, dispatch_uid="alerts.case_merging")
