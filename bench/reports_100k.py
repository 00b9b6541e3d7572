"""Usage reports over 100,000 requests: seed a month, rebuild its aggregates, then time the report
page and the exports (which read only the aggregates) against a baseline that computes the same
per-bureau figures straight from the request rows.

    DATABASE_URL=postgres://… .venv/bin/python bench/reports_100k.py [--month 2026-09] [--count 100000]

Writes into the configured database: synthetic requests tagged with the source prefix "bench"
(removed and re-seeded on each run) and a user "bench_auditor". Never point it at production.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityai.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q, Sum  # noqa: E402
from django.test import Client  # noqa: E402

from bench.synthetic import seed_requests  # noqa: E402
from services.accounts.models import Bureau, Membership  # noqa: E402
from services.accounts.selectors import Actor  # noqa: E402
from services.accounts.services import member_upsert  # noqa: E402
from services.catalog.models import Scenario  # noqa: E402
from services.catalog.services import catalog_load  # noqa: E402
from services.inference.models import InferenceRequest  # noqa: E402
from services.reports.models import UsageDaily  # noqa: E402
from services.reports.selectors import month_range, usage_report  # noqa: E402
from services.reports.services import day_bounds, usage_rebuild  # noqa: E402


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Median wall time in seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def baseline_from_rows(first, last) -> list[dict]:
    """What a report would cost without aggregates: group the raw rows (PostgreSQL's exact percentiles)."""
    lo, hi = day_bounds(first, last)
    rows = InferenceRequest.objects.filter(created_at__gte=lo, created_at__lt=hi, status__in=InferenceRequest.TERMINAL)
    figures = list(rows.values("bureau_id").annotate(
        n=Count("id"), ok=Count("id", filter=Q(status="succeeded")), compute=Sum("compute_ms"),
    ))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT bureau_id, percentile_disc(0.5) WITHIN GROUP (ORDER BY total_ms), "
                "percentile_disc(0.95) WITHIN GROUP (ORDER BY total_ms) FROM inference_inferencerequest "
                "WHERE created_at >= %s AND created_at < %s AND status = 'succeeded' GROUP BY bureau_id",
                [lo, hi],
            )
            cursor.fetchall()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2026-09")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-seed", action="store_true", help="keep the rows of an earlier run; only rebuild and time")
    args = parser.parse_args()
    first, last = month_range(args.month)
    lo, hi = day_bounds(first, last)

    catalog_load()
    bureaus = list(Bureau.objects.exclude(slug__in=["audit-office", "platform"]))
    scenarios = list(Scenario.objects.filter(status=Scenario.Status.ACTIVE))
    office = Bureau.objects.filter(slug="audit-office").first() or Bureau.objects.create(
        slug="audit-office", name_zh="区审计局", name_en="District Audit Office")
    user = member_upsert(bureau=office, username="bench_auditor", password="bench-auditor-pw-1",
                         role=Membership.Role.AUDITOR).user

    deleted = written = 0
    seed_s = 0.0
    if not args.no_seed:
        deleted, _ = InferenceRequest.objects.filter(created_at__gte=lo, created_at__lt=hi,
                                                     source__startswith="bench-").delete()
        seed_s, written = timed(lambda: seed_requests(first=first, last=last, count=args.count, bureaus=bureaus,
                                                      scenarios=scenarios, seed=int(time.time()),
                                                      source_prefix="bench-cam"))
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a bulk load in production: fresh statistics and
            # visibility, so that the planner sees the table as it is.
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {InferenceRequest._meta.db_table}")
    in_month = InferenceRequest.objects.filter(created_at__gte=lo, created_at__lt=hi).count()
    rebuild_s, result = timed(lambda: usage_rebuild(first=first, last=last))
    aggregate_rows = UsageDaily.objects.filter(day__gte=first, day__lte=last).count()

    actor = Actor(bureau=office, role=Membership.Role.AUDITOR, user=user)
    report_s, report = timed(lambda: usage_report(actor=actor, first=first, last=last), args.repeat)
    client = Client()
    client.force_login(user)
    query = {"month": args.month}

    def get(path, params):
        response = client.get(path, params)
        assert response.status_code == 200, (path, response.status_code)
        return response

    page_s, page = timed(lambda: get("/reports/", query), args.repeat)
    page_month_s, _ = timed(lambda: get("/reports/", {**query, "period": "month"}), args.repeat)
    xlsx_s, xlsx = timed(lambda: get("/reports/export.xlsx", query), args.repeat)
    csv_s, csv = timed(lambda: get("/reports/export.csv", {**query, "table": "scenarios"}), args.repeat)
    api_s, _ = timed(lambda: get("/api/v1/usage/bureaus", query), args.repeat)
    baseline_s, _ = timed(lambda: baseline_from_rows(first, last), args.repeat)
    # Lists: the newest page of requests, events and the audit log, however long the history.
    list_api_s, _ = timed(lambda: get("/api/v1/requests", {"limit": 50}), args.repeat)
    list_page_s, _ = timed(lambda: get("/requests/", {}), args.repeat)
    list_month_s, _ = timed(lambda: get("/api/v1/requests", {"limit": 50, "offset": 5000}), args.repeat)

    print(f"database            {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"month               {args.month}: {in_month:,} requests in the table "
          f"({written:,} seeded now, {deleted:,} old bench rows removed)")
    print(f"seed (bulk_create)  {seed_s:8.2f} s")
    print(f"rebuild aggregates  {rebuild_s:8.2f} s  -> {aggregate_rows:,} day×bureau×scenario rows, "
          f"{result.requests:,} finished requests")
    print(f"report figures      {report_s * 1000:8.1f} ms  (selector only; {report.total.requests:,} requests, "
          f"p50 {report.total.p50_ms:.1f} ms, p95 {report.total.p95_ms:.1f} ms, "
          f"{report.total.compute_s:,.1f} compute s)")
    print(f"report page (day)   {page_s * 1000:8.1f} ms  ({len(page.content) / 1024:,.0f} KiB HTML, 3 SVG charts)")
    print(f"report page (month) {page_month_s * 1000:8.1f} ms")
    print(f"XLSX export         {xlsx_s * 1000:8.1f} ms  ({len(xlsx.content) / 1024:,.0f} KiB, 7 sheets)")
    print(f"CSV export          {csv_s * 1000:8.1f} ms  ({len(csv.content) / 1024:,.0f} KiB)")
    print(f"JSON API bureaus    {api_s * 1000:8.1f} ms")
    print(f"baseline from rows  {baseline_s * 1000:8.1f} ms  (per-bureau counts + exact p50/p95 over raw rows)")
    print(f"list API, page 1    {list_api_s * 1000:8.1f} ms  (/api/v1/requests?limit=50, auditor: every bureau)")
    print(f"list API, offset 5k {list_month_s * 1000:8.1f} ms")
    print(f"list portal page    {list_page_s * 1000:8.1f} ms  (/requests/)")
    print(f"page / baseline     {page_s / baseline_s:8.2f} x   (the page does far more: 6 tables, 3 charts)")
    print(f"figures / baseline  {report_s / baseline_s:8.2f} x")


if __name__ == "__main__":
    main()
