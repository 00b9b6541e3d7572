from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "services.catalog"
    label = "catalog"
    verbose_name = "Scenario catalog"

    def ready(self) -> None:
        # The submit path reads scenarios from a per-process cache; catalog changes reach every process.
        from services.catalog.models import Domain, Scenario
        from services.core import configcache

        configcache.watch(Scenario, Domain)
