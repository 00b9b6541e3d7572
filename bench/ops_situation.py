"""The situation view over 10,000 and 100,000 requests: seed the last 30 days, rebuild the daily
aggregates, raise events for the alerts (merged per camera, scenario and day, reviewed, dispatched,
some closed late), then time the figures, the JSON endpoint, the desk page and the wall — which read
aggregates and the events tables only — against the same counters computed from the request rows.

    DATABASE_URL=postgres://… .venv/bin/python bench/ops_situation.py --count 10000
    DATABASE_URL=postgres://… .venv/bin/python bench/ops_situation.py --count 100000

Writes into the configured database: synthetic requests with sources "bench-ops-…" (and their events,
reviews and work orders; removed and re-seeded on each run) and users "bench_ops_centre" and
"bench_ops_manager". Never point it at production.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityai.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q, Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.synthetic import seed_requests  # noqa: E402
from services.accounts.models import Bureau, Membership  # noqa: E402
from services.accounts.selectors import Actor  # noqa: E402
from services.accounts.services import bureau_upsert, member_upsert  # noqa: E402
from services.catalog.models import Scenario  # noqa: E402
from services.catalog.services import catalog_load  # noqa: E402
from services.events.models import Event, EventOccurrence, EventReview, WorkOrder  # noqa: E402
from services.inference.models import InferenceRequest  # noqa: E402
from services.ops.selectors import WINDOW_DAYS, situation  # noqa: E402
from services.reports.models import UsageDaily  # noqa: E402
from services.reports.services import day_bounds, metering_zone, usage_rebuild  # noqa: E402

PREFIX = "bench-ops"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Median wall time in seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def seed_events(lo, now, rng: random.Random) -> dict:
    """Events as the platform makes them: one per camera × scenario × day of alerts (merging), the
    responsible bureau the scenario's owner; most older events reviewed, confirmed ones dispatched,
    most work orders closed, some of them late, a few still open and overdue."""
    alerts = (InferenceRequest.objects.filter(created_at__gte=lo, source__startswith=PREFIX, alert=True)
              .select_related("scenario").order_by("created_at")
              .values_list("id", "bureau_id", "scenario_id", "scenario__owner_bureau_id", "source", "created_at"))
    groups: dict[tuple, list] = {}
    for rid, bureau_id, scenario_id, owner_id, source, created in alerts:
        groups.setdefault((scenario_id, source, created.date()), []).append((rid, bureau_id, owner_id, created))
    events, occurrences = [], []
    for (scenario_id, source, _day), rows in groups.items():
        first, last = rows[0], rows[-1]
        event = Event(scenario_id=scenario_id, bureau_id=first[2] or first[1], source_bureau_id=first[1],
                      source=source, severity=rng.choice(("low", "medium", "medium", "high")),
                      first_request_id=first[0], last_request_id=last[0], summary="synthetic",
                      occurrence_count=len(rows), first_seen_at=first[3], last_seen_at=last[3])
        events.append(event)
        occurrences += [EventOccurrence(event=event, request_id=r[0], seen_at=r[3]) for r in rows]
    Event.objects.bulk_create(events, batch_size=2000)
    EventOccurrence.objects.bulk_create(occurrences, batch_size=5000)
    reviews, orders = [], []
    for event in events:
        age_h = (now - event.last_seen_at).total_seconds() / 3600
        if age_h < 2 or rng.random() < 0.1:
            continue  # still awaiting review
        confirm = rng.random() < 0.7
        reviewed_at = event.last_seen_at + timedelta(minutes=rng.uniform(2, 90))
        reviews.append(EventReview(event=event, scenario_id=event.scenario_id, bureau_id=event.bureau_id,
                                   decision="confirm" if confirm else "dismiss", reviewer="user:bench",
                                   reviewed_at=reviewed_at))
        event.status = "confirmed" if confirm else "dismissed"
        if confirm and rng.random() < 0.9:
            due = reviewed_at + timedelta(hours={"high": 4, "medium": 24, "low": 72}[event.severity])
            resolved = reviewed_at + timedelta(hours=rng.lognormvariate(1.5, 0.9))
            wo = WorkOrder(event=event, assignee_bureau_id=event.bureau_id, dispatcher_bureau_id=event.bureau_id,
                           due_at=due, dispatched_at=reviewed_at)
            if resolved < now:
                wo.status, wo.accepted_at, wo.resolved_at = "closed", reviewed_at, resolved
                wo.closed_at = resolved + timedelta(minutes=rng.uniform(5, 120))
                event.status = "closed"
            else:
                wo.status = "accepted"
                event.status = "dispatched"
            orders.append(wo)
    EventReview.objects.bulk_create(reviews, batch_size=5000)
    WorkOrder.objects.bulk_create(orders, batch_size=5000)
    Event.objects.bulk_update(events, ["status"], batch_size=2000)
    return {"events": len(events), "reviews": len(reviews), "work_orders": len(orders)}


def baseline_from_rows(actor_bureau, today_lo, window_lo) -> dict:
    """The same request counters without aggregates: straight from the request rows."""
    rows = InferenceRequest.objects.all()
    if actor_bureau is not None:
        rows = rows.filter(bureau=actor_bureau)
    today = rows.filter(created_at__gte=today_lo).aggregate(n=Count("id"), alerts=Count("id", filter=Q(alert=True)))
    trend = list(rows.filter(created_at__gte=window_lo).values("scenario__domain_id").annotate(
        n=Count("id"), alerts=Count("id", filter=Q(alert=True)), compute=Sum("compute_ms")))
    compute = list(rows.filter(created_at__gte=window_lo).values("bureau_id").annotate(c=Sum("compute_ms")))
    return {"today": today, "trend": trend, "compute": compute}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = timezone.now()
    today = now.astimezone(metering_zone()).date()
    first = today - timedelta(days=WINDOW_DAYS - 1)
    lo, hi = day_bounds(first, today)

    catalog_load()
    bureaus = list(Bureau.objects.exclude(slug__in=["audit-office", "platform"]))
    scenarios = list(Scenario.objects.filter(status=Scenario.Status.ACTIVE))
    centre = bureau_upsert(slug="platform", name_zh="区智慧城市运营中心",
                           name_en="District Smart City Operations Centre")
    ops_user = member_upsert(bureau=centre, username="bench_ops_centre", password="bench-ops-pw-1",
                             role=Membership.Role.AUDITOR).user
    busiest = Bureau.objects.get(slug="urban-management")
    manager = member_upsert(bureau=busiest, username="bench_ops_manager", password="bench-ops-pw-1",
                            role=Membership.Role.MANAGER).user

    old = InferenceRequest.objects.filter(source__startswith=PREFIX)
    old_events = Event.objects.filter(source__startswith=PREFIX)
    WorkOrder.objects.filter(event__in=old_events).delete()
    EventReview.objects.filter(event__in=old_events).delete()
    EventOccurrence.objects.filter(event__in=old_events).delete()
    old_events.delete()
    old.delete()
    rng = random.Random(2026)
    # The synthetic day spread covers whole days; the rows of today that lie in the future stay
    # (they only raise today's figures, which the view reads from aggregates either way).
    seed_s, written = timed(lambda: seed_requests(first=first, last=today, count=args.count, bureaus=bureaus,
                                                  scenarios=scenarios, seed=2026, source_prefix=PREFIX))
    events_s, made = timed(lambda: seed_events(lo, now, rng))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (InferenceRequest, Event, EventReview, WorkOrder, EventOccurrence):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    rebuild_s, _ = timed(lambda: usage_rebuild(first=first, last=today))
    in_window = InferenceRequest.objects.filter(created_at__gte=lo, created_at__lt=hi).count()
    aggregate_rows = UsageDaily.objects.filter(day__gte=first, day__lte=today).count()

    district = Actor(bureau=centre, role=Membership.Role.AUDITOR, user=ops_user)
    bureau = Actor(bureau=busiest, role=Membership.Role.MANAGER, user=manager)
    fig_d_s, data = timed(lambda: situation(actor=district), args.repeat)
    fig_b_s, _ = timed(lambda: situation(actor=bureau), args.repeat)

    def client_of(user) -> Client:
        c = Client()
        c.force_login(user)
        return c

    ops_client, mgr_client = client_of(ops_user), client_of(manager)

    def get(client, path):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    json_d_s, body = timed(lambda: get(ops_client, "/api/v1/ops/situation"), args.repeat)
    json_b_s, _ = timed(lambda: get(mgr_client, "/api/v1/ops/situation"), args.repeat)
    page_s, page = timed(lambda: get(ops_client, "/ops/"), args.repeat)
    wall_s, _ = timed(lambda: get(ops_client, "/ops/wall/"), args.repeat)
    today_lo = day_bounds(today, today)[0]
    base_d_s, _ = timed(lambda: baseline_from_rows(None, today_lo, lo), args.repeat)
    base_b_s, _ = timed(lambda: baseline_from_rows(busiest, today_lo, lo), args.repeat)

    counters = {c["key"]: c["display"] for c in data["counters"]}
    print(f"database             {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"window               {first} .. {today}: {in_window:,} requests in the table ({written:,} seeded)")
    print(f"seed requests        {seed_s:8.2f} s")
    print(f"seed events          {events_s:8.2f} s  -> {made['events']:,} events, {made['reviews']:,} reviews, "
          f"{made['work_orders']:,} work orders")
    print(f"rebuild aggregates   {rebuild_s:8.2f} s  -> {aggregate_rows:,} day×bureau×scenario rows")
    print(f"figures, district    {fig_d_s * 1000:8.1f} ms  (selector; {counters})")
    print(f"figures, one bureau  {fig_b_s * 1000:8.1f} ms")
    print(f"JSON, district       {json_d_s * 1000:8.1f} ms  ({len(body.content) / 1024:,.0f} KiB)")
    print(f"JSON, one bureau     {json_b_s * 1000:8.1f} ms")
    print(f"desk page /ops/      {page_s * 1000:8.1f} ms  ({len(page.content) / 1024:,.0f} KiB HTML)")
    print(f"wall /ops/wall/      {wall_s * 1000:8.1f} ms")
    print(f"baseline from rows   {base_d_s * 1000:8.1f} ms  (only today's counts, 30-day domain trend and "
          f"compute by bureau, straight from the request table, district)")
    print(f"baseline, one bureau {base_b_s * 1000:8.1f} ms")
    print(f"JSON / baseline      {json_d_s / base_d_s:8.2f} x  (the JSON holds far more: events, map, SLA, precision)")


if __name__ == "__main__":
    main()
