from django.core.management.base import BaseCommand

from services.catalog.exemplars import routing_exemplars_load
from services.catalog.services import catalog_load


class Command(BaseCommand):
    help = "Load the scenario catalog (services/catalog/data/) and its routing targets and exemplars (idempotent)."

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
        exemplars = routing_exemplars_load(by="command:load_catalog", wait=True)
        self.stdout.write(
            f"routing: {exemplars.targets_created} targets created, {exemplars.targets_updated} updated; "
            f"{exemplars.created} exemplars created, {exemplars.unchanged} unchanged"
            + ("; router trained (or left to the first complaint if Triton is not up)" if exemplars.changed else "")
        )
