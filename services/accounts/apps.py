from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "services.accounts"
    label = "accounts"
    verbose_name = "Bureaus and access"

    def ready(self) -> None:
        # API keys are cached per process (authentication.py); any change to a key or its bureau
        # must reach every process.
        from services.accounts.models import ApiClient, Bureau
        from services.core import configcache

        configcache.watch(ApiClient, Bureau)
