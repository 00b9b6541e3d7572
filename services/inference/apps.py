from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "services.inference"
    label = "inference"
    verbose_name = "Inference requests"

    def ready(self):
        # The routing trainer follows catalog changes (and registers its Celery task in workers); the
        # checks module registers the catalog ↔ pipelines system check.
        from services.catalog.signals import routing_data_changed
        from services.inference import checks, routing  # noqa: F401

        routing_data_changed.connect(routing.on_routing_data_changed, dispatch_uid="inference.routing")
