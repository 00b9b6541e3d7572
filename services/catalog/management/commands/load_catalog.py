from django.core.management.base import BaseCommand

from services.catalog.services import catalog_load


class Command(BaseCommand):
    help = "Load the scenario catalog from services/catalog/data/catalog.yaml (idempotent)."

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
