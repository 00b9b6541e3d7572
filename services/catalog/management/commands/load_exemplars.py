from django.core.management.base import BaseCommand

from services.catalog.exemplars import routing_exemplars_load


class Command(BaseCommand):
    help = "Load routing exemplars from services/catalog/data/routing_exemplars.yaml (idempotent; after load_catalog)."

    def handle(self, *args, **options):
        report = routing_exemplars_load(by="command:load_exemplars", wait=True)
        self.stdout.write(
            self.style.SUCCESS(f"routing exemplars: {report.created} created, {report.unchanged} unchanged")
        )
