"""Metering writes: count a finished request once, catch up on missed ones, rebuild days.

Concurrency: an increment locks its aggregate row (and, by touching the table first, holds a
ROW EXCLUSIVE lock on it); a rebuild takes SHARE ROW EXCLUSIVE on the aggregate table, which waits
for increments in flight and holds new ones back until it commits. Reports keep reading throughout.
Both take the aggregate table before the meter marks, so they cannot deadlock on each other.
"""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, FloatField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.inference.models import InferenceRequest
from services.reports import metering
from services.reports.models import MeteredRequest, UsageDaily

logger = logging.getLogger(__name__)

Status = InferenceRequest.Status
TERMINAL = (Status.SUCCEEDED, Status.FAILED)
_METER_FIELDS = (
    "id", "bureau_id", "scenario_id", "created_at", "status", "alert", "compute_ms", "queue_ms", "total_ms",
    "input_bytes",
)


def metering_zone() -> zoneinfo.ZoneInfo:
    """Days are the platform's local days (quotas are daily in local time)."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[local midnight of ``first``, local midnight after ``last``) as aware datetimes."""
    zone = metering_zone()
    return (datetime.combine(first, time.min, tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone))


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _lock_usage_table(mode: str) -> None:
    if _is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {UsageDaily._meta.db_table} IN {mode} MODE")


def usage_meter_request(*, request_id, request: InferenceRequest | None = None) -> bool:
    """Add one finished request to its day's aggregate; True if it was counted now, False if it
    was counted before, is not finished, or does not exist. Safe to call any number of times.

    ``request`` is the finished row as the worker recorded it (saves reading it again)."""
    if request is not None and request.status in TERMINAL:
        row = {name: getattr(request, name) for name in _METER_FIELDS}
    else:
        row = InferenceRequest.objects.filter(pk=request_id, status__in=TERMINAL).values(*_METER_FIELDS).first()
    if row is None:
        return False
    day = row["created_at"].astimezone(metering_zone()).date()
    key = {"day": day, "bureau_id": row["bureau_id"], "scenario_id": row["scenario_id"]}
    try:
        with transaction.atomic():
            # The aggregate table first (see the module docstring), then the mark, then the row lock:
            # the day's row is the hottest row of a busy scenario, so it is locked last and held
            # only for its own update. A mark that exists already undoes it all (counted before).
            UsageDaily.objects.bulk_create([UsageDaily(**key)], ignore_conflicts=True)
            MeteredRequest.objects.create(request_id=row["id"])
            _add_to_usage(UsageDaily.objects.select_for_update().get(**key), [row])
    except IntegrityError:
        return False
    return True


def usage_meter_requests(*, requests: list[InferenceRequest]) -> int:
    """Count a finished batch in one transaction: its marks in one INSERT, each (day, bureau,
    scenario) aggregate locked and updated once; returns how many were counted. If any of them was
    counted before (a catch-up run raced the signal), the batch falls back to one by one."""
    rows = [{name: getattr(r, name) for name in _METER_FIELDS} for r in requests if r.status in TERMINAL]
    if not rows:
        return 0
    if len(rows) == 1:
        return int(usage_meter_request(request_id=rows[0]["id"], request=requests[0]))
    zone = metering_zone()
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["created_at"].astimezone(zone).date(), row["bureau_id"], row["scenario_id"])
        groups.setdefault(key, []).append(row)
    try:
        with transaction.atomic():
            UsageDaily.objects.bulk_create(
                [UsageDaily(day=d, bureau_id=b, scenario_id=s) for d, b, s in groups], ignore_conflicts=True
            )
            MeteredRequest.objects.bulk_create([MeteredRequest(request_id=row["id"]) for row in rows])
            for day, bureau_id, scenario_id in sorted(groups, key=str):  # one lock order: no deadlocks
                usage = UsageDaily.objects.select_for_update().get(day=day, bureau_id=bureau_id,
                                                                   scenario_id=scenario_id)
                _add_to_usage(usage, groups[(day, bureau_id, scenario_id)])
    except IntegrityError:
        return sum(usage_meter_request(request_id=row["id"]) for row in rows)
    return len(rows)


def _add_to_usage(usage: UsageDaily, rows: list[dict]) -> None:
    hist = metering.add(metering.empty(), usage.latency_hist)
    for row in rows:
        succeeded = row["status"] == Status.SUCCEEDED
        usage.requests += 1
        usage.succeeded += succeeded
        usage.failed += not succeeded
        usage.alerts += bool(succeeded and row["alert"])
        usage.compute_ms += row["compute_ms"] or 0.0
        usage.queue_ms += row["queue_ms"] or 0.0
        usage.input_bytes += row["input_bytes"] or 0
        if succeeded and row["total_ms"] is not None:
            usage.latency_ms += row["total_ms"]
            hist[metering.bucket_of(row["total_ms"])] += 1
    usage.latency_hist = hist
    usage.save()


def usage_meter_missed(*, since: datetime | None = None, limit: int = 10_000) -> int:
    """Count finished requests that no signal counted (a worker killed between its commit and the
    signal, a receiver error). Looks back two days by default; cheap, as it walks the
    ``created_at`` index and the marks' primary key."""
    since = since or timezone.now() - timedelta(days=2)
    ids = list(
        InferenceRequest.objects.filter(created_at__gte=since, status__in=TERMINAL, meter_mark__isnull=True)
        .values_list("id", flat=True)[:limit]
    )
    return sum(usage_meter_request(request_id=request_id) for request_id in ids)


@dataclass(frozen=True)
class RebuildResult:
    first: date
    last: date
    rows: int
    requests: int


def usage_rebuild(*, first: date, last: date) -> RebuildResult:
    """Recompute the aggregates of days ``first``..``last`` from the request rows.

    Every finished request of those days is marked metered in the same transaction, and only
    marked requests are counted, so a signal that arrives after the rebuild does not count a
    request the rebuild already counted, and one that counted before is simply replaced.
    """
    if last < first:
        raise ValueError("last must not be before first")
    lo, hi = day_bounds(first, last)
    zone = metering_zone()
    requests = InferenceRequest.objects.filter(created_at__gte=lo, created_at__lt=hi, status__in=TERMINAL)
    with transaction.atomic():
        _lock_usage_table("SHARE ROW EXCLUSIVE")
        _mark_metered(lo, hi)
        counted = requests.filter(meter_mark__isnull=False).annotate(day=TruncDate("created_at", tzinfo=zone))
        succeeded = Q(status=Status.SUCCEEDED)
        sums = counted.values("day", "bureau_id", "scenario_id").annotate(
            n=Count("id"),
            ok=Count("id", filter=succeeded),
            failed_n=Count("id", filter=Q(status=Status.FAILED)),
            alert_n=Count("id", filter=succeeded & Q(alert=True)),
            compute=Coalesce(Sum("compute_ms"), Value(0.0), output_field=FloatField()),
            queue=Coalesce(Sum("queue_ms"), Value(0.0), output_field=FloatField()),
            latency=Coalesce(Sum("total_ms", filter=succeeded), Value(0.0), output_field=FloatField()),
            in_bytes=Coalesce(Sum("input_bytes"), Value(0)),
        ).order_by()
        rows: dict[tuple, UsageDaily] = {}
        for s in sums:
            key = (s["day"], s["bureau_id"], s["scenario_id"])
            rows[key] = UsageDaily(
                day=s["day"], bureau_id=s["bureau_id"], scenario_id=s["scenario_id"], requests=s["n"],
                succeeded=s["ok"], failed=s["failed_n"], alerts=s["alert_n"], compute_ms=s["compute"],
                queue_ms=s["queue"], latency_ms=s["latency"], input_bytes=s["in_bytes"], latency_hist=metering.empty(),
            )
        latencies = (
            counted.filter(succeeded, total_ms__isnull=False)
            .values_list("day", "bureau_id", "scenario_id", F("total_ms"))
            .order_by()
        )
        for day, bureau_id, scenario_id, total_ms in latencies.iterator(chunk_size=10_000):
            rows[(day, bureau_id, scenario_id)].latency_hist[metering.bucket_of(total_ms)] += 1
        UsageDaily.objects.filter(day__gte=first, day__lte=last).delete()
        UsageDaily.objects.bulk_create(rows.values(), batch_size=2000)
    return RebuildResult(first, last, len(rows), sum(r.requests for r in rows.values()))


def _mark_metered(lo: datetime, hi: datetime) -> None:
    """Mark every finished request created in [lo, hi) as metered, in one statement."""
    marks = MeteredRequest._meta.db_table
    requests = InferenceRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {marks} (request_id) SELECT id FROM {requests} "  # noqa: S608 - table names from _meta
            "WHERE created_at >= %s AND created_at < %s AND status IN (%s, %s) ON CONFLICT (request_id) DO NOTHING",
            [lo, hi, Status.SUCCEEDED, Status.FAILED],
        )


def usage_export_record(*, actor_label: str, bureau: str, fmt: str, query: dict, table: str = "all") -> None:
    """An export leaves the platform: record who took which figures, in which format."""
    audit_record(
        action=AuditEntry.Action.EXPORT, actor=actor_label, bureau=bureau, object_type="usage_report",
        object_id=f"{query['first']}..{query['last']}",
        details={"format": fmt, "table": table, **{k: str(v) for k, v in query.items() if v is not None}},
    )
