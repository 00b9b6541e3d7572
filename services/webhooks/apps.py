from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "services.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Webhooks listen to inference's requests_finished; inference never imports webhooks.
        from services.core import configcache
        from services.webhooks import receivers  # noqa: F401
        from services.webhooks.models import Webhook

        configcache.watch(Webhook)  # which clients have webhooks is cached per process
