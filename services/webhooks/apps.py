from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "services.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Webhooks listen to inference's request_finished; inference never imports webhooks.
        from services.webhooks import receivers  # noqa: F401
