from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"

    def ready(self) -> None:
        # The project's own deploy checks (`manage.py check --deploy`).
        import config.checks  # noqa: F401
