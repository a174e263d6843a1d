from django.apps import AppConfig
from django.db.models.signals import post_save


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = "Playbooks"

    def ready(self):
        # Imported here: receivers import models, which are loaded only once the apps are.
        from alerts.signals import case_alerts_added, cases_alerts_added
        from playbooks import receivers

        case_alerts_added.connect(receivers.on_case_alerts_added, dispatch_uid="playbooks.case_alerts_added")
        cases_alerts_added.connect(receivers.on_cases_alerts_added, dispatch_uid="playbooks.cases_alerts_added")
        post_save.connect(receivers.on_case_event_saved, sender="cases.CaseEvent",
                          dispatch_uid="playbooks.case_event")
