from django.core.management.base import BaseCommand

from services.catalog.exemplars import routing_exemplars_load
from services.catalog.services import catalog_load


class Command(BaseCommand):
    help = "Load the scenario catalog (services/catalog/data/) and its routing exemplars (idempotent)."

    def handle(self, *args, **options):
        report = catalog_load()
        for label in report.created:
            self.stdout.write(f"created {label}")
        for label in report.updated:
            self.stdout.write(f"updated {label}")
        self.stdout.write(
            self.style.SUCCESS(
                f"catalog: {len(report.created)} created, {len(report.updated)} updated, "
                f"{report.unchanged} unchanged"
            )
        )
        exemplars = routing_exemplars_load()
        self.stdout.write(f"routing exemplars: {exemplars.created} created, {exemplars.unchanged} unchanged")
