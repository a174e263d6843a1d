from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _ensure_roles_after_migrate(sender, app_config=None, using="default", **kwargs):
    # Permissions of every app exist only once the last app's post_migrate has run.
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if app_config is None or app_config.label != last.label:
        return
    from cases.roles_setup import ensure_roles

    ensure_roles()


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self):
        post_migrate.connect(_ensure_roles_after_migrate, dispatch_uid="cases.ensure_roles")
        from cases import admin_audit, api_tokens

        admin_audit.connect()
        api_tokens.connect()
