from django.apps import AppConfig


class AttackConfig(AppConfig):
    name = "attack"
    verbose_name = "MITRE ATT&CK"
