"""What a bureau may still submit: the daily quota, the month's compute budget, its backlog cap and
its fair share of a tier.

The daily quota is a counter per entitlement and day in Redis, taken by one atomic script: every
submit of a busy scenario would otherwise update the same entitlement row, and PostgreSQL serialises
those updates through the row lock and the commit (measured: 90 ms of waiting per submit at 16
concurrent clients). The counter starts each day (and after Redis lost it) from the day's request
rows, so it cannot drift from the record for longer than Redis keeps it; requests in flight while
Redis restarts empty can be counted once too few. Without Redis the quota falls back to one
conditional UPDATE of the entitlement's day counter, as exact, only slower under load.

The submit path asks everything in two statements and one Redis call (``admit``): the entitlement,
one read of the bureau's backlog and the month's recent compute, and the quota script. Refusals say
which limit they met, in the same order as always: budget, backlog, then quota.
"""

import threading
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Case, F, Q, Sum, Value, When

from services.accounts.models import Bureau
from services.catalog.models import Entitlement, Scenario
from services.core.errors import PermissionDenied, Throttled
from services.core.redis import get_redis, script
from services.inference.models import InferenceRequest

Status = InferenceRequest.Status

_REQUESTS = InferenceRequest._meta.db_table
_ENTITLEMENTS = Entitlement._meta.db_table

# The entitlement, the bureau's waiting work (all, and queued in the entitlement's tier) and the
# compute of the month's unsealed part, in one round trip.
_ADMIT_SQL = f"""
SELECT e.id, e.tier, e.daily_quota, e.monthly_compute_budget_s,
       (SELECT COUNT(*) FROM {_REQUESTS} w WHERE w.bureau_id = e.bureau_id AND w.status IN (%s, %s)),
       (SELECT COUNT(*) FROM {_REQUESTS} w WHERE w.bureau_id = e.bureau_id AND w.status = %s AND w.tier = e.tier),
       (SELECT COALESCE(SUM(r.compute_ms), 0) FROM {_REQUESTS} r
         WHERE r.bureau_id = e.bureau_id AND r.scenario_id = e.scenario_id AND r.created_at >= %s),
       (SELECT MIN(w.created_at) FROM {_REQUESTS} w
         WHERE w.bureau_id = e.bureau_id AND w.scenario_id = e.scenario_id AND w.status IN (%s, %s))
  FROM {_ENTITLEMENTS} e WHERE e.bureau_id = %s AND e.scenario_id = %s AND e.enabled
"""  # noqa: S608 - table names from the models, values as parameters

# KEYS[1] the day's counter; ARGV: count, daily quota. Returns the new total, -1 when the counter is
# not there (seed it from the rows first), -2 when the quota cannot take ``count`` more.
_TAKE_LUA = """
local used = redis.call('GET', KEYS[1])
if not used then return -1 end
used = tonumber(used)
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -2 end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""


def _quota_key(entitlement: Entitlement, now) -> str:
    return f"cityai:quota:{entitlement.pk}:{now.date().isoformat()}"


def admit(*, scenario: Scenario, bureau, now, count: int = 1) -> tuple[Entitlement, str]:
    """Check the entitlement, the month's budget and the backlog, then take ``count`` units of
    today's quota; returns the entitlement and the tier the requests run in, or raises why not."""
    sealed_ms, sealed_until = _sealed_month_ms(bureau_id=bureau.pk, scenario_id=scenario.pk, now=now)
    with connection.cursor() as cursor:
        cursor.execute(_ADMIT_SQL, [Status.QUEUED, Status.RUNNING, Status.QUEUED,
                                    connection.ops.adapt_datetimefield_value(sealed_until), Status.QUEUED,
                                    Status.RUNNING, Bureau._meta.pk.get_db_prep_value(bureau.pk, connection),
                                    scenario.pk])
        row = cursor.fetchone()
    if row is None:
        raise PermissionDenied(
            f"Your bureau is not entitled to scenario {scenario.slug!r}; ask a platform admin.", code="not_entitled"
        )
    entitlement = Entitlement(id=row[0], bureau=bureau, scenario=scenario, tier=row[1], daily_quota=row[2],
                              monthly_compute_budget_s=row[3])
    backlog, in_tier, recent_ms, oldest_waiting = row[4:]
    if isinstance(oldest_waiting, str):  # SQLite hands raw SQL its text (UTC); PostgreSQL a datetime
        oldest_waiting = datetime.fromisoformat(oldest_waiting).replace(tzinfo=UTC)
    # Budget and backlog bound load rather than meter it: no lock, and a few requests racing past
    # them together is harmless.
    _check_budget(entitlement, (sealed_ms + float(recent_ms)) / 1000, now)
    _check_backlog(int(backlog), count)
    tier = fair_tier(tier=entitlement.tier, waiting_in_tier=int(in_tier))
    reserve_quota(entitlement, bureau, now, count)
    _advance_seal(bureau_id=bureau.pk, scenario_id=scenario.pk, now=now, oldest_waiting=oldest_waiting)
    return entitlement, tier


def _take_in_redis(entitlement: Entitlement, bureau, now, count: int) -> bool | None:
    """True: taken; False: the quota cannot take them; None: Redis is not there (use the database)."""
    key = _quota_key(entitlement, now)
    try:
        client, take = get_redis(), script(_TAKE_LUA)
        result = take(keys=[key], args=[count, entitlement.daily_quota])
        if result == -1:
            day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            done = InferenceRequest.objects.filter(
                bureau=bureau, scenario=entitlement.scenario_id, created_at__gte=day_start
            ).count()
            client.set(key, done, nx=True, ex=2 * 86400)
            result = take(keys=[key], args=[count, entitlement.daily_quota])
    except redis.RedisError:
        return None
    entitlement._quota_in_redis = True
    return result >= 0


def _check_backlog(backlog: int, count: int) -> None:
    if backlog + count > settings.CITYAI_MAX_QUEUED_PER_BUREAU:
        raise Throttled(
            f"Your bureau already has {backlog} requests waiting; try again shortly.",
            code="queue_full",
            status=503,
            retry_after=5,
        )


def reserve_quota(entitlement: Entitlement, bureau, now, count: int = 1) -> None:
    """Take ``count`` of today's requests from the daily quota, or refuse with 429 (all or none):
    from the Redis counter, or without Redis by the database statement below.

    One conditional UPDATE of the entitlement's day counter, in autocommit: concurrent submits never
    take more than the quota (the database serialises the UPDATEs), and no lock is held while the
    request is stored — holding the entitlement's row lock across the insert made every submit of a
    busy scenario wait in line. The first submit of a day recounts the day from the request rows, so
    the counter cannot drift from the record for longer than a day. ``release_quota`` gives the
    request back when storing it fails."""
    taken = _take_in_redis(entitlement, bureau, now, count)
    if taken is None:
        taken = _take_in_database(entitlement, bureau, now, count)
    if not taken:
        retry_after = int((now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                           - now).total_seconds())
        what = "is used up" if count == 1 else f"has fewer than {count} requests left"
        raise Throttled(
            f"Daily quota of {entitlement.daily_quota} requests for {entitlement.scenario.slug!r} {what}.",
            code="quota_exceeded",
            retry_after=retry_after,
            details={"quota": entitlement.daily_quota, "used": entitlement.daily_quota},
        )


def _take_in_database(entitlement: Entitlement, bureau, now, count: int) -> bool:
    today = now.date()
    recount = 0
    if entitlement.quota_day != today:
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        recount = InferenceRequest.objects.filter(
            bureau=bureau, scenario=entitlement.scenario_id, created_at__gte=day_start
        ).count()
    same_day = Q(quota_day=today)
    taken = Entitlement.objects.filter(pk=entitlement.pk).filter(
        (same_day & Q(quota_used__lte=F("daily_quota") - count)) | (~same_day & Q(daily_quota__gte=recount + count))
    ).update(
        # Both SET expressions see the row as it was (SQL semantics), so the CASE reads the old day.
        quota_used=Case(When(same_day, then=F("quota_used") + count), default=Value(recount + count)),
        quota_day=today,
    )
    if taken:
        entitlement.quota_day = today
    return bool(taken)


def release_quota(entitlement: Entitlement, now, count: int = 1) -> None:
    """Give back what ``reserve_quota`` took (storing the requests failed)."""
    if count <= 0:
        return
    if getattr(entitlement, "_quota_in_redis", False):
        try:
            get_redis().decrby(_quota_key(entitlement, now), count)
            return
        except redis.RedisError:
            return  # the counter is gone with Redis; the next day's (or re-seeded) count is right
    Entitlement.objects.filter(pk=entitlement.pk, quota_day=now.date(), quota_used__gte=count).update(
        quota_used=F("quota_used") - count
    )


_sealed_lock = threading.Lock()
_sealed: dict[tuple, tuple[datetime, float]] = {}  # (bureau, scenario, month) -> (sealed until, ms)
_SEAL_STEP = timedelta(seconds=5)
_COMMIT_MARGIN = timedelta(seconds=2)


def _sealed_month_ms(*, bureau_id, scenario_id, now) -> tuple[float, datetime]:
    """(compute ms of the month's rows created before ``sealed_until``, ``sealed_until``).

    The month's compute is summed from the request rows (inference may not import the reports'
    aggregates, which also lag behind), in two parts so that a submit's cost stays flat however busy
    the scenario: the sealed part is kept per process and only the rows since ``sealed_until`` are
    summed on each submit. Rows created before the oldest request still waiting are all finished, so
    ``_advance_seal`` moves the seal up to it (less a margin for inserts still committing) in small
    steps, each summing only the rows it passes. A process starts from the rows older than ten
    minutes, summed once."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    key = (bureau_id, scenario_id, month_start)
    hit = _sealed.get(key)
    if hit is not None:
        return hit[1], hit[0]
    until = max(month_start, now - timedelta(minutes=10))
    ms = _sum_compute(bureau_id, scenario_id, month_start, until)
    with _sealed_lock:
        if len(_sealed) > 10_000:
            _sealed.clear()
        _sealed[key] = (until, ms)
    return ms, until


def _advance_seal(*, bureau_id, scenario_id, now, oldest_waiting: datetime | None) -> None:
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    key = (bureau_id, scenario_id, month_start)
    hit = _sealed.get(key)
    if hit is None:
        return
    target = now - _COMMIT_MARGIN
    if oldest_waiting is not None:
        target = min(target, oldest_waiting)
    if target - hit[0] < _SEAL_STEP:
        return
    ms = hit[1] + _sum_compute(bureau_id, scenario_id, hit[0], target)
    with _sealed_lock:
        if _sealed.get(key) is hit:
            _sealed[key] = (target, ms)


def _sum_compute(bureau_id, scenario_id, since, until) -> float:
    return float(InferenceRequest.objects.filter(
        bureau_id=bureau_id, scenario_id=scenario_id, created_at__gte=since, created_at__lt=until
    ).aggregate(ms=Sum("compute_ms"))["ms"] or 0.0)


def _next_month(moment):
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def _check_budget(entitlement: Entitlement, used_s: float, now) -> None:
    """Refuse new work once the month's compute budget is spent (work already accepted still runs,
    so a month can overshoot by what was in flight; the budget bounds, it does not meter exactly).

    Summed from the request rows rather than read from the reports app's daily aggregates: inference
    may not import reports, and the aggregates lag behind the signal that fills them (a budget must
    see the request that finished a second ago)."""
    budget_s = entitlement.monthly_compute_budget_s
    if used_s >= budget_s:
        retry_after = int((_next_month(now) - now).total_seconds())
        raise Throttled(
            f"The monthly compute budget of {budget_s} s for {entitlement.scenario.slug!r} is used up.",
            code="budget_exceeded",
            retry_after=retry_after,
            details={"budget_s": budget_s, "used_s": round(used_s, 3)},
        )


def fair_tier(*, tier: str, waiting_in_tier: int) -> str:
    """The queue this bureau's next request goes to: its entitled tier, or bulk past its fair share.

    Queues are consumed in strict order (high, normal, bulk), so a bureau that floods its own tier
    would starve every other bureau in that tier. Past ``CITYAI_FAIR_SHARE_QUEUED`` waiting requests
    in the tier, further work is demoted to bulk: still accepted and still run, after everyone's
    fair share. The row records the tier it ran in (and gets bulk's Triton priority).
    """
    if tier == Entitlement.Tier.BULK:
        return tier
    return Entitlement.Tier.BULK if waiting_in_tier >= settings.CITYAI_FAIR_SHARE_QUEUED else tier
