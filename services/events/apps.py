from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "services.events"
    label = "events"
    verbose_name = "Events and work orders"

    def ready(self) -> None:
        # Events listen to inference's requests_finished; inference never imports events.
        from services.events import receivers  # noqa: F401
        from services.events.views import register_scenario_panel

        register_scenario_panel()
