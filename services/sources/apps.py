from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "services.sources"
    label = "sources"
    verbose_name = "Sources"
