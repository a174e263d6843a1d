from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which exist only once
        # every app is loaded.
        from cases import admin_audit, api_tokens, resolutions_setup, roles_setup, totp  # noqa: F401 - totp: its user_logged_in receiver

        post_migrate.connect(roles_setup.ensure_roles_after_migrate, dispatch_uid="cases.ensure_roles")
        post_migrate.connect(resolutions_setup.ensure_resolutions_after_migrate, dispatch_uid="cases.resolutions")
        admin_audit.connect()
        api_tokens.connect()
