"""What a bureau may still submit: the daily quota (reserved by one conditional UPDATE), the month's
compute budget, its backlog cap and its fair share of a tier.

The submit path asks all of it in two statements (``admit``): the quota reservation, which also
finds the entitlement (``UPDATE … RETURNING``), and one read of the bureau's backlog and the month's
recent compute. The slower ORM checks remain for the refusals, so that a refused submit says which
limit it met, in the same order as always: budget, backlog, then quota.
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, F, Q, Sum, Value, When

from services.catalog.models import Entitlement, Scenario
from services.core.errors import PermissionDenied, Throttled
from services.inference.models import InferenceRequest

Status = InferenceRequest.Status

_REQUESTS = InferenceRequest._meta.db_table
_ENTITLEMENTS = Entitlement._meta.db_table

# The day's count of a bureau's requests of a scenario, for the first submit of a day (evaluated
# only then: CASE does not evaluate the branches it does not take).
_RECOUNT = (f"(SELECT COUNT(*) FROM {_REQUESTS} r"  # noqa: S608 - table names from the models
            " WHERE r.bureau_id = %s AND r.scenario_id = %s AND r.created_at >= %s)")
_RESERVE_SQL = f"""
UPDATE {_ENTITLEMENTS}
   SET quota_used = CASE WHEN quota_day = %s THEN quota_used ELSE {_RECOUNT} END + %s, quota_day = %s
 WHERE bureau_id = %s AND scenario_id = %s AND enabled
   AND CASE WHEN quota_day = %s THEN quota_used ELSE {_RECOUNT} END + %s <= daily_quota
RETURNING id, tier, daily_quota, monthly_compute_budget_s
"""  # noqa: S608 - table names from the models, values as parameters
_WAITING_SQL = f"""
SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = %s AND tier = %s THEN 1 ELSE 0 END), 0),
       (SELECT COALESCE(SUM(compute_ms), 0) FROM {_REQUESTS}
         WHERE bureau_id = %s AND scenario_id = %s AND created_at >= %s)
  FROM {_REQUESTS} WHERE bureau_id = %s AND status IN (%s, %s)
"""  # noqa: S608


def admit(*, scenario: Scenario, bureau, now, count: int = 1) -> tuple[Entitlement, str]:
    """Take ``count`` units of today's quota and check the month's budget and the backlog; returns
    the entitlement and the tier the requests run in, or raises why not (the quota taken is given
    back). Two statements on the common path."""
    today = now.date()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    recount = [bureau.pk, scenario.pk, day_start]
    with connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL, [today, *recount, count, today, bureau.pk, scenario.pk, today, *recount, count])
        row = cursor.fetchone()
    if row is None:
        _refuse(scenario=scenario, bureau=bureau, now=now, count=count)
    entitlement = Entitlement(id=row[0], bureau=bureau, scenario=scenario, tier=row[1], daily_quota=row[2],
                              monthly_compute_budget_s=row[3], quota_day=today)
    try:
        return entitlement, _check_waiting(entitlement, bureau, now, count)
    except BaseException:
        release_quota(entitlement, now, count)
        raise


def _refuse(*, scenario, bureau, now, count) -> None:
    """The reservation took nothing: say why (not entitled, budget, backlog, or the quota itself)."""
    entitlement = Entitlement.objects.filter(bureau=bureau, scenario=scenario, enabled=True).first()
    if entitlement is None:
        raise PermissionDenied(
            f"Your bureau is not entitled to scenario {scenario.slug!r}; ask a platform admin.", code="not_entitled"
        )
    entitlement.scenario = scenario
    check_limits(entitlement, bureau, now, count)
    reserve_quota(entitlement, bureau, now, count)  # raises quota_exceeded (or took it after all)
    release_quota(entitlement, now, count)
    raise Throttled("The daily quota changed meanwhile; try again.", code="quota_exceeded", retry_after=1)


def _check_waiting(entitlement: Entitlement, bureau, now, count: int) -> str:
    sealed_ms, sealed_until = _sealed_month_ms(bureau_id=bureau.pk, scenario_id=entitlement.scenario_id, now=now)
    with connection.cursor() as cursor:
        cursor.execute(_WAITING_SQL, [Status.QUEUED, entitlement.tier, bureau.pk, entitlement.scenario_id,
                                      sealed_until, bureau.pk, Status.QUEUED, Status.RUNNING])
        backlog, in_tier, recent_ms = cursor.fetchone()
    # Beside the quota just taken: the backlog counted here does not include this submit yet.
    _check_budget(entitlement, (sealed_ms + float(recent_ms)) / 1000, now)
    _check_backlog(int(backlog), count)
    return fair_tier(tier=entitlement.tier, waiting_in_tier=int(in_tier))


def check_limits(entitlement: Entitlement, bureau, now, count: int = 1) -> str:
    """Refuse work past the month's compute budget or the bureau's backlog cap, and return the tier
    the ``count`` new requests run in (see ``fair_tier``). Aggregate queries and no lock: both limits
    bound load rather than meter it, so a few requests racing past them together is harmless."""
    used_ms = month_compute_ms(bureau_id=bureau.pk, scenario_id=entitlement.scenario_id, now=now)
    _check_budget(entitlement, used_ms / 1000, now)
    waiting = InferenceRequest.objects.filter(bureau=bureau, status__in=(Status.QUEUED, Status.RUNNING)).aggregate(
        backlog=Count("id"), in_tier=Count("id", filter=Q(status=Status.QUEUED, tier=entitlement.tier))
    )
    _check_backlog(waiting["backlog"], count)
    return fair_tier(tier=entitlement.tier, waiting_in_tier=waiting["in_tier"])


def _check_backlog(backlog: int, count: int) -> None:
    if backlog + count > settings.CITYAI_MAX_QUEUED_PER_BUREAU:
        raise Throttled(
            f"Your bureau already has {backlog} requests waiting; try again shortly.",
            code="queue_full",
            status=503,
            retry_after=5,
        )


def reserve_quota(entitlement: Entitlement, bureau, now, count: int = 1) -> None:
    """Take ``count`` of today's requests from the daily quota, or refuse with 429 (all or none).

    One conditional UPDATE of the entitlement's day counter, in autocommit: concurrent submits never
    take more than the quota (the database serialises the UPDATEs), and no lock is held while the
    request is stored — holding the entitlement's row lock across the insert made every submit of a
    busy scenario wait in line. The first submit of a day recounts the day from the request rows, so
    the counter cannot drift from the record for longer than a day. ``release_quota`` gives the
    request back when storing it fails."""
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
        entitlement.quota_day = today  # a cached entitlement need not recount the day again
    else:
        retry_after = int((now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                           - now).total_seconds())
        what = "is used up" if count == 1 else f"has fewer than {count} requests left"
        raise Throttled(
            f"Daily quota of {entitlement.daily_quota} requests for {entitlement.scenario.slug!r} {what}.",
            code="quota_exceeded",
            retry_after=retry_after,
            details={"quota": entitlement.daily_quota, "used": entitlement.daily_quota},
        )


def release_quota(entitlement: Entitlement, now, count: int = 1) -> None:
    if count <= 0:
        return
    Entitlement.objects.filter(pk=entitlement.pk, quota_day=now.date(), quota_used__gte=count).update(
        quota_used=F("quota_used") - count
    )


def month_compute_ms(*, bureau_id, scenario_id, now) -> float:
    """Triton compute (ms) a bureau spent on a scenario since the start of the local month.

    Summed from the request rows (inference may not import the reports' aggregates, which also lag
    behind), in two parts so that the cost stays flat as the month fills: the requests created
    before the last full hour less ten minutes — all finished by now, since no request runs that
    long — are summed once per hour and process, and only the last hour or so is summed each time.
    """
    sealed, sealed_until = _sealed_month_ms(bureau_id=bureau_id, scenario_id=scenario_id, now=now)
    rows = InferenceRequest.objects.filter(bureau_id=bureau_id, scenario_id=scenario_id)
    recent = rows.filter(created_at__gte=sealed_until).aggregate(ms=Sum("compute_ms"))["ms"] or 0.0
    return float(sealed + recent)


def _sealed_month_ms(*, bureau_id, scenario_id, now):
    """(compute ms of the month up to ``sealed_until``, ``sealed_until``), summed once per hour."""
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    sealed_until = max(month_start, now.replace(minute=0, second=0, microsecond=0) - timedelta(minutes=10))
    key = f"cityai:month-compute:{bureau_id}:{scenario_id}:{sealed_until.isoformat()}"
    sealed = cache.get(key)
    if sealed is None:
        sealed = InferenceRequest.objects.filter(
            bureau_id=bureau_id, scenario_id=scenario_id, created_at__gte=month_start, created_at__lt=sealed_until
        ).aggregate(ms=Sum("compute_ms"))["ms"] or 0.0
        cache.set(key, sealed, timeout=2 * 3600)
    return float(sealed), sealed_until


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
