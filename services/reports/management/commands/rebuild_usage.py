import math
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from services.reports.models import UsageDaily
from services.reports.services import metering_zone, usage_rebuild

_COUNTS = ("requests", "succeeded", "failed", "alerts", "input_bytes", "latency_hist")
_SUMS = ("compute_ms", "queue_ms", "latency_ms")


def _snapshot(first: date, last: date) -> dict:
    rows = UsageDaily.objects.filter(day__gte=first, day__lte=last).values(
        "day", "bureau__slug", "scenario__slug", *_COUNTS, *_SUMS
    )
    return {(r["day"], r["bureau__slug"], r["scenario__slug"]): r for r in rows}


def _differences(before: dict, after: dict) -> list[str]:
    found = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        label = f"{key[0]} {key[1]} {key[2]}"
        if old is None or new is None:
            found.append(f"{label}: {'missing from' if old is None else 'not in'} the aggregates "
                         f"({(new or old)['requests']} requests)")
            continue
        for name in _COUNTS:
            if old[name] != new[name]:
                found.append(f"{label}: {name} is {old[name]}, the requests say {new[name]}")
        for name in _SUMS:
            if not math.isclose(old[name], new[name], rel_tol=1e-9, abs_tol=1e-6):
                found.append(f"{label}: {name} is {old[name]:.3f}, the requests say {new[name]:.3f}")
    return found


class Command(BaseCommand):
    help = (
        "Recompute the daily usage aggregates of a range of days from the request rows (backfill, repair). "
        "With --check, only compare and report differences (exit 1 if any)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=date.fromisoformat, help="first day (default: yesterday)")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, help="last day, inclusive (default: today)")
        parser.add_argument("--check", action="store_true", help="compare only; change nothing")

    def handle(self, *args, first=None, last=None, check=False, **options):
        today = timezone.now().astimezone(metering_zone()).date()
        first = first or (last or today) - timedelta(days=1)
        last = last or today
        if last < first:
            raise CommandError("--to is before --from")
        if not check:
            result = usage_rebuild(first=first, last=last)
            self.stdout.write(self.style.SUCCESS(
                f"rebuilt {first}..{last}: {result.rows} aggregate rows, {result.requests} requests"
            ))
            return
        with transaction.atomic():
            before = _snapshot(first, last)
            usage_rebuild(first=first, last=last)
            after = _snapshot(first, last)
            transaction.set_rollback(True)
        found = _differences(before, after)
        if found:
            for line in found[:50]:
                self.stdout.write(line)
            raise CommandError(f"{len(found)} differences between the aggregates and the requests of {first}..{last}")
        self.stdout.write(self.style.SUCCESS(f"aggregates of {first}..{last} match the requests ({len(after)} rows)"))
