from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence files"

    def ready(self) -> None:
        # Django-required: the receiver's module imports the models, which exist only once the apps are ready.
        from cases.signals import case_merging
        from evidence import case_merge

        # A merged case's evidence files go to the surviving case, in the merge's transaction.
        case_merging.connect(case_merge.on_case_merging, dispatch_uid="evidence.case_merging")
