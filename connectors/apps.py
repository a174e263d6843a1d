from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Pull connectors"

    def ready(self) -> None:
        # Embedded mode (no broker, no beat): the first requests of a web process start the
        # in-process scheduler when connectors exist (connectors.embedded).
        from django.core.signals import request_started

        from connectors import embedded

        request_started.connect(embedded.on_request_started, dispatch_uid="connectors-embedded-scheduler")
