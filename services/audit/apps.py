from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "services.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Logins are Django's signals, not ours: the audit app listens to them itself.
        from services.audit import receivers  # noqa: F401
