"""`python manage.py evaluate SCENARIO --set DIR` / `evaluate --all`: measured accuracy on committed,
labelled sets, through the real rule families and the real Triton (TRITON_URL).

`--all` runs every set under evaluation/sets/ for each scenario it names and exits non-zero when a
figure misses its floor or ceiling; `--write` records the figures in evaluation/results.json and
docs/accuracy.md (the catalog shows them). See services/inference/evaluation/__init__.py.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from services.inference import evaluation
from services.inference.evaluation import results


class Command(BaseCommand):
    help = "Evaluate scenarios on labelled sets (real pipeline, real Triton); fails below a set's floor."

    def add_arguments(self, parser):
        parser.add_argument("scenario", nargs="?", help="scenario slug (with --set)")
        parser.add_argument("--set", dest="set_dir", help="folder of an evaluation set (with set.yaml)")
        parser.add_argument("--all", dest="every", action="store_true", help="every set under evaluation/sets/")
        parser.add_argument("--only", default="", help="with --all: comma-separated set names or kinds")
        parser.add_argument("--write", action="store_true",
                            help="record the figures in evaluation/results.json and docs/accuracy.md")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the reports as JSON")
        parser.add_argument("--failures", type=int, default=5, help="misses to print per set")

    def handle(self, *args, scenario, set_dir, every, only, write, as_json, failures, **options):
        if every == bool(set_dir):
            raise CommandError("give SCENARIO --set DIR, or --all")
        runs: list[tuple[str, evaluation.EvalSet]] = []
        if every:
            wanted = {w.strip() for w in only.split(",") if w.strip()}
            for evalset in evaluation.discover_sets():
                if wanted and evalset.name not in wanted and evalset.kind not in wanted:
                    continue
                runs += [(slug, evalset) for slug in evalset.scenarios if not scenario or slug == scenario]
        else:
            if not scenario:
                raise CommandError("name the scenario to evaluate on the set")
            try:
                runs.append((scenario, evaluation.load_set(set_dir)))
            except (FileNotFoundError, KeyError) as exc:
                raise CommandError(str(exc)) from None
        if not runs:
            raise CommandError("no evaluation set matched")

        reports = []
        for slug, evalset in runs:
            try:
                report = evaluation.evaluate(slug, evalset)
            except LookupError as exc:
                raise CommandError(str(exc)) from None
            reports.append(report)
            if not as_json:
                self._print(report, failures)
        if as_json:
            self.stdout.write(_dumps([results.figures(r, "") | {"scenario": r.scenario, "set": r.evalset.name,
                                                                 "failures": r.failures[:failures]}
                                      for r in reports]))
        if write:
            results.write(reports)
            self.stdout.write(f"recorded in {results.RESULTS_PATH} and {results.DOC_PATH}")
        failed = [r for r in reports if not r.passed]
        if failed:
            raise CommandError("below the floor: " + "; ".join(
                f"{r.scenario} on {r.evalset.name}: {', '.join(r.shortfalls())}" for r in failed))
        self.stdout.write(self.style.SUCCESS(f"{len(reports)} evaluation(s) passed"))

    def _print(self, report, failures: int) -> None:
        mark = self.style.SUCCESS("pass") if report.passed else self.style.ERROR("FAIL")
        self.stdout.write(f"{mark} {report.scenario} on {report.evalset.name} ({report.samples} samples, "
                          f"{report.seconds:.1f} s): {results.format_metrics(report.metrics)}")
        for table, rows in report.breakdown.items():
            self.stdout.write(f"       {table}: " + "; ".join(
                f"{key} {results.format_metrics(row) if isinstance(row, dict) else row}" for key, row in rows.items()))
        for line in report.failures[:failures]:
            self.stdout.write(f"       miss: {line}")
        for line in report.shortfalls():
            self.stdout.write(self.style.ERROR(f"       {line}"))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)
