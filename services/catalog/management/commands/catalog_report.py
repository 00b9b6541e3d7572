"""Per domain: the scenarios, whether each works, its method and method class, and what was measured
on evaluation sets (evaluation/results.json, written by ``manage.py evaluate --all --write``). Reads
files only, so it answers without a database; precision from human review lives in the database
and shows on the scenario page and in the reports. Every scenario's rule family exists: inference's
system check (inference.E001) runs before this command and refuses a catalog that names a missing one."""

from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError

from services.catalog.accuracy import method_class, scenario_accuracy
from services.catalog.services import catalog_data


class Command(BaseCommand):
    help = "Print the scenario catalog per domain with each scenario's status and method."

    def add_arguments(self, parser):
        parser.add_argument("--lang", choices=["zh", "en"], default="en")
        parser.add_argument("--min-working", type=int, default=0, help="Fail unless at least this many work.")

    def handle(self, *args, lang, min_working, **options):
        data = catalog_data()
        by_domain = defaultdict(list)
        for item in data["scenarios"]:
            by_domain[item["domain"]].append(item)
        working_total = 0
        for domain in data["domains"]:
            items = sorted(by_domain.get(domain["slug"], []), key=lambda i: (i.get("order", 0), i["slug"]))
            working = [i for i in items if i.get("status", "active") == "active"]
            working_total += len(working)
            self.stdout.write(self.style.MIGRATE_HEADING(
                f"\n{domain[f'name_{lang}']} ({domain['slug']}): {len(working)} working of {len(items)}"
            ))
            for item in items:
                ok = item in working
                mark = self.style.SUCCESS("working     ") if ok else self.style.WARNING(
                    f"{item.get('status', 'active'):<12}")
                models = ", ".join(item.get("models", [])) or "-"
                self.stdout.write(f"  {mark} {item['slug']:<34} {item[f'name_{lang}']}")
                klass = method_class(item).replace("_", " ")
                self.stdout.write(f"               family {item['pipeline']}; models {models}; {klass}")
                self.stdout.write(f"               {item[f'method_{lang}']}")
                for figures in scenario_accuracy(item["slug"]):
                    measured = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in figures["metrics"].items())
                    verdict = "meets its floor" if figures["passed"] else "BELOW ITS FLOOR"
                    self.stdout.write(f"               measured on {figures['set']} ({figures['samples']} samples, "
                                      f"{figures['measured_at'][:10]}): {measured}; {verdict}")
        total = len(data["scenarios"])
        domains_ok = sum(
            1 for d in data["domains"]
            if sum(1 for i in by_domain.get(d["slug"], []) if i.get("status", "active") == "active") >= 5
        )
        self.stdout.write(self.style.SUCCESS(
            f"\n{working_total} working scenarios of {total}; {domains_ok} of {len(data['domains'])} domains "
            f"have at least 5 working"
        ))
        if working_total < min_working:
            raise CommandError(f"only {working_total} working scenarios; expected at least {min_working}")
