from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "services.reports"
    label = "reports"
    verbose_name = "Usage reports"

    def ready(self) -> None:
        # Metering listens to inference's requests_finished; inference never imports reports.
        from services.reports import receivers  # noqa: F401
