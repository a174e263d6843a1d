from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = "Playbooks"

    def ready(self):
        from django.db.models.signals import post_save

        from alerts.signals import alerts_processed, case_opened
        from playbooks import receivers

        alerts_processed.connect(receivers.on_alerts_processed, dispatch_uid="playbooks.alerts_processed")
        case_opened.connect(receivers.on_case_opened, dispatch_uid="playbooks.case_opened")
        post_save.connect(receivers.on_case_event_saved, sender="cases.CaseEvent",
                          dispatch_uid="playbooks.case_event")
