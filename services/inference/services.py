"""Writes for inference requests: submit, execute (claim → pipeline → record), requeue stale work."""

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.utils import timezone

from services.accounts.models import Bureau
from services.accounts.selectors import Actor
from services.catalog.models import Entitlement, Scenario
from services.catalog.params import resolve_params
from services.catalog.selectors import scenario_get_runnable
from services.core.cache import cached_row
from services.core.errors import ApplicationError, Conflict, PermissionDenied, Throttled
from services.inference import pipelines, triton
from services.inference.inputs import CheckedInput, reject_nul
from services.inference.models import InferenceRequest
from services.inference.notify import publish_finished
from services.inference.selectors import inference_request_history
from services.inference.signals import request_finished

logger = logging.getLogger(__name__)
Status = InferenceRequest.Status

TIER_PRIORITY = {Entitlement.Tier.HIGH: 1, Entitlement.Tier.NORMAL: 2, Entitlement.Tier.BULK: 3}


# --- submit -------------------------------------------------------------------------------------


def scenario_params_resolve(*, scenario: Scenario, params: Any) -> dict[str, Any]:
    """The scenario's params with defaults filled in, checked against its schema and by its rule
    family; ``ApplicationError`` (400 ``invalid_params``) names what is wrong. Anything that stores
    params to submit later (a source's binding) checks them here first."""
    reject_nul(params, "params")
    resolved = resolve_params(scenario.params_schema, params)
    family = pipelines.get(scenario.pipeline)
    if family.check_params is not None:
        try:
            family.check_params(resolved)
        except ValueError as exc:
            raise ApplicationError(f"params are not valid: {exc}", code="invalid_params") from None
    return resolved


def _enqueue(request: InferenceRequest, countdown: float = 0) -> None:
    from services.inference.tasks import run_inference_request

    try:
        run_inference_request.apply_async(args=[str(request.id)], queue=request.tier, countdown=countdown or None)
    except Exception:
        # The row is committed, so the work is not lost: the reaper enqueues it again.
        logger.exception("could not enqueue request %s; the reaper will retry", request.id)


def _check_limits(entitlement: Entitlement, bureau, now) -> str:
    """Refuse work past the month's compute budget or the bureau's backlog cap, and return the tier
    the request runs in (see ``fair_tier``). Two aggregate queries and no lock: both limits bound
    load rather than meter it, so a few requests racing past them together is harmless."""
    used_ms = month_compute_ms(bureau_id=bureau.pk, scenario_id=entitlement.scenario_id, now=now)
    _check_budget(entitlement, used_ms / 1000, now)
    waiting = InferenceRequest.objects.filter(bureau=bureau, status__in=(Status.QUEUED, Status.RUNNING)).aggregate(
        backlog=Count("id"), in_tier=Count("id", filter=Q(status=Status.QUEUED, tier=entitlement.tier))
    )
    if waiting["backlog"] >= settings.CITYAI_MAX_QUEUED_PER_BUREAU:
        raise Throttled(
            f"Your bureau already has {waiting['backlog']} requests waiting; try again shortly.",
            code="queue_full",
            status=503,
            retry_after=5,
        )
    return fair_tier(tier=entitlement.tier, waiting_in_tier=waiting["in_tier"])


def _reserve_quota(entitlement: Entitlement, bureau, now) -> None:
    """Take one of today's requests from the daily quota, or refuse with 429.

    One conditional UPDATE of the entitlement's day counter, in autocommit: concurrent submits never
    take more than the quota (the database serialises the UPDATEs), and no lock is held while the
    request is stored — holding the entitlement's row lock across the insert made every submit of a
    busy scenario wait in line. The first submit of a day recounts the day from the request rows, so
    the counter cannot drift from the record for longer than a day. ``_release_quota`` gives the
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
        (same_day & Q(quota_used__lt=F("daily_quota"))) | (~same_day & Q(daily_quota__gt=recount))
    ).update(
        # Both SET expressions see the row as it was (SQL semantics), so the CASE reads the old day.
        quota_used=Case(When(same_day, then=F("quota_used") + 1), default=Value(recount + 1)),
        quota_day=today,
    )
    if not taken:
        retry_after = int((now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                           - now).total_seconds())
        raise Throttled(
            f"Daily quota of {entitlement.daily_quota} requests for {entitlement.scenario.slug!r} is used up.",
            code="quota_exceeded",
            retry_after=retry_after,
            details={"quota": entitlement.daily_quota, "used": entitlement.daily_quota},
        )


def _release_quota(entitlement: Entitlement, now) -> None:
    Entitlement.objects.filter(pk=entitlement.pk, quota_day=now.date(), quota_used__gt=0).update(
        quota_used=F("quota_used") - 1
    )


def month_compute_ms(*, bureau_id, scenario_id, now) -> float:
    """Triton compute (ms) a bureau spent on a scenario since the start of the local month.

    Summed from the request rows (inference may not import the reports' aggregates, which also lag
    behind), in two parts so that the cost stays flat as the month fills: the requests created
    before the last full hour less ten minutes — all finished by now, since no request runs that
    long — are summed once per hour and process, and only the last hour or so is summed each time.
    """
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    sealed_until = max(month_start, now.replace(minute=0, second=0, microsecond=0) - timedelta(minutes=10))
    rows = InferenceRequest.objects.filter(bureau_id=bureau_id, scenario_id=scenario_id)
    key = f"cityai:month-compute:{bureau_id}:{scenario_id}:{sealed_until.isoformat()}"
    sealed = cache.get(key)
    if sealed is None:
        sealed = rows.filter(created_at__gte=month_start, created_at__lt=sealed_until).aggregate(
            ms=Sum("compute_ms"))["ms"] or 0.0
        cache.set(key, sealed, timeout=2 * 3600)
    recent = rows.filter(created_at__gte=sealed_until).aggregate(ms=Sum("compute_ms"))["ms"] or 0.0
    return float(sealed + recent)


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


def inference_request_submit(
    *,
    actor: Actor,
    scenario_slug: str,
    checked: CheckedInput,
    params: Any = None,
    idempotency_key: str | None = None,
    source: str = "",
    captured_at: datetime | None = None,
) -> tuple[InferenceRequest, bool]:
    """Accept a request: validate, check entitlement and quota, store the input, enqueue on commit.

    ``captured_at`` is when a frame or reading was taken (an aware datetime, not in the future); rules
    that follow a source over time order and space its requests by it. Returns (request, created); a
    repeated idempotency key returns the first request unchanged.
    """
    if not actor.can_submit:
        raise PermissionDenied("Your role may not submit requests.", code="cannot_submit")
    bureau = actor.bureau
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 200 or not idempotency_key.isprintable():
            raise ApplicationError(
                "Idempotency-Key must be 1–200 printable characters.", code="invalid_idempotency_key"
            )
        existing = _idempotent_match(bureau, idempotency_key, scenario_slug, checked)
        if existing is not None:
            return existing, False
    if actor.api_client is not None and not actor.api_client.allows(scenario_slug):
        raise PermissionDenied(f"This API key is not scoped for {scenario_slug!r}.", code="out_of_scope")
    scenario, entitlement = scenario_get_runnable(slug=scenario_slug, bureau=bureau)
    if checked.kind != scenario.input_kind:
        raise ApplicationError(
            f"Scenario {scenario.slug!r} takes {scenario.input_kind} input, not {checked.kind}.",
            code="wrong_input_kind",
        )
    resolved = scenario_params_resolve(scenario=scenario, params=params)
    source = (source or "").strip()
    if len(source) > 200 or not source.isprintable():
        raise ApplicationError("source must be at most 200 printable characters.", code="invalid_source")
    _check_captured_at(captured_at)
    now = timezone.localtime()
    entitlement.scenario = scenario
    tier = _check_limits(entitlement, bureau, now)
    _reserve_quota(entitlement, bureau, now)
    try:
        with transaction.atomic():
            request = InferenceRequest(
                bureau=bureau,
                scenario=scenario,
                submitted_by=actor.user,
                api_client=actor.api_client,
                idempotency_key=idempotency_key,
                source=source,
                input_kind=checked.kind,
                input_data=checked.data,
                input_name=checked.name,
                input_content_type=checked.content_type,
                input_sha256=checked.sha256,
                input_bytes=checked.size,
                params=resolved,
                tier=tier,
                next_attempt_at=timezone.now(),
            )
            request.created_at = timezone.now()
            request.captured_at = captured_at or request.created_at
            if checked.content is not None:
                request.input_file.save(f"input.{checked.extension}", ContentFile(checked.content), save=False)
            request.save()
            transaction.on_commit(lambda: _enqueue(request))
    except IntegrityError:
        _release_quota(entitlement, now)
        # Two submits raced on one idempotency key: the other one won.
        existing = _idempotent_match(bureau, idempotency_key, scenario_slug, checked) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    except BaseException:
        _release_quota(entitlement, now)
        raise
    return request, True


def _check_captured_at(captured_at: datetime | None) -> None:
    if captured_at is None:
        return
    if timezone.is_naive(captured_at):
        raise ApplicationError("captured_at needs a time zone (e.g. 2026-11-28T10:00:00+08:00).",
                               code="invalid_captured_at")
    if captured_at > timezone.now() + timedelta(seconds=settings.CITYAI_CAPTURE_CLOCK_SKEW_SECONDS):
        raise ApplicationError("captured_at lies in the future.", code="invalid_captured_at")


def _idempotent_match(bureau, key: str, scenario_slug: str, checked: CheckedInput) -> InferenceRequest | None:
    existing = InferenceRequest.objects.select_related("scenario").filter(bureau=bureau, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.scenario.slug != scenario_slug or existing.input_sha256 != checked.sha256:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            code="idempotency_conflict",
            details={"request_id": str(existing.id)},
        )
    return existing


# --- execute ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecuteOutcome:
    status: str  # "done", "skipped", "retry"
    retry_in: float | None = None


def _backoff(attempt: int) -> float:
    base = settings.CITYAI_TASK_RETRY_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    return min(60.0, base) * random.uniform(0.8, 1.2)


_CLAIM_SQL = """
UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, attempts = attempts + 1,
       started_at = COALESCE(started_at, %s)
 WHERE id = %s AND (status = %s OR (status = %s AND lease_expires_at < %s))
RETURNING {columns}
"""


def _claim(request_id: str) -> tuple[uuid.UUID | None, InferenceRequest | None]:
    """Claim a request by a conditional UPDATE that returns the claimed row (one round trip).

    Returns (token, request) when this worker now holds it, else (None, None)."""
    now = timezone.now()
    token = uuid.uuid4()
    meta = InferenceRequest._meta
    quote = connection.ops.quote_name
    sql = _CLAIM_SQL.format(table=quote(meta.db_table),
                            columns=", ".join(quote(f.column) for f in meta.concrete_fields))
    values = [
        ("status", Status.RUNNING), ("claim_token", token),
        ("lease_expires_at", now + timedelta(seconds=settings.CITYAI_CLAIM_LEASE_SECONDS)), ("started_at", now),
        ("id", request_id), ("status", Status.QUEUED), ("status", Status.RUNNING), ("lease_expires_at", now),
    ]
    try:
        params = [meta.get_field(name).get_db_prep_value(value, connection) for name, value in values]
    except ValidationError:
        return None, None  # not a request id at all
    claimed = list(InferenceRequest.objects.raw(sql, params))
    if not claimed:
        return None, None
    request = claimed[0]
    # Catalog rows change rarely; a worker reads each scenario and bureau once a minute, not per request.
    request.scenario = cached_row(Scenario, request.scenario_id, "domain", "owner_bureau")
    request.bureau = cached_row(Bureau, request.bureau_id)
    return token, request


def _finish(request: InferenceRequest, token: uuid.UUID, **values: Any) -> bool:
    """Record the end of a request if this worker still holds its claim; exactly one writer wins.

    One UPDATE in autocommit: the row is the record, so nothing else needs the same transaction."""
    values.setdefault("finished_at", timezone.now())
    values["total_ms"] = (values["finished_at"] - request.created_at).total_seconds() * 1000
    if request.started_at is not None:
        values["queue_ms"] = (request.started_at - request.created_at).total_seconds() * 1000
    values.update(claim_token=None, lease_expires_at=None)
    changed = InferenceRequest.objects.filter(pk=request.pk, status=Status.RUNNING, claim_token=token).update(
        **values
    )
    if changed != 1:
        logger.warning("request %s: claim lost before finishing; this result is discarded", request.pk)
        return False
    for name, value in values.items():
        setattr(request, name, value)
    transaction.on_commit(lambda: _announce_finished(request))
    return True


def _announce_finished(request: InferenceRequest) -> None:
    """Subscribers (metering, events, webhooks) first; waiting API calls are woken last, so that a
    caller who sees the result also sees everything recorded about it. Subscribers get the finished
    row as recorded (``request``), so that none of them needs to read it again."""
    # One failing subscriber must not keep the others (or the waiting caller) from hearing of it.
    for receiver, result in request_finished.send_robust(
        sender=InferenceRequest, request_id=request.pk, request=request
    ):
        if isinstance(result, Exception):
            logger.error("request %s: %s failed on request_finished: %r", request.pk, receiver, result)
    publish_finished(request.pk)


def _fail(request: InferenceRequest, token: uuid.UUID, code: str, message: str, **values: Any) -> bool:
    return _finish(request, token, status=Status.FAILED, error_code=code, error_message=message[:2000], **values)


def _load_item(request: InferenceRequest) -> pipelines.Item:
    content = None
    if request.input_file:
        with request.input_file.open("rb") as fh:
            content = fh.read()
    return pipelines.Item(kind=request.input_kind, params=request.params, content=content, data=request.input_data)


def inference_request_execute(*, request_id: str) -> ExecuteOutcome:
    """Run one request. Safe to call twice for the same id: only the holder of the claim works."""
    token, request = _claim(request_id)
    if token is None:
        state = InferenceRequest.objects.filter(pk=request_id).values("status", "lease_expires_at").first()
        if state is None:
            logger.warning("request %s does not exist; nothing to do", request_id)
        elif state["status"] == Status.RUNNING and state["lease_expires_at"] is not None:
            # Someone holds it; if that worker died, the lease runs out and we take over then.
            wait = (state["lease_expires_at"] - timezone.now()).total_seconds() + 1
            return ExecuteOutcome("retry", retry_in=max(1.0, wait))
        return ExecuteOutcome("skipped")

    ctx = pipelines.Context(
        priority=TIER_PRIORITY.get(request.tier, 0),
        timeout_s=settings.TRITON_TIMEOUT_SECONDS,
        source=request.source,
        now=request.captured_at,
        history=partial(inference_request_history, request=request),
    )
    t0 = time.perf_counter()
    try:
        family = pipelines.get(request.scenario.pipeline)
        outcome = family.run(ctx, _load_item(request))
    except triton.TritonUnavailable as exc:
        if request.attempts >= settings.CITYAI_TASK_MAX_RETRIES:
            _fail(request, token, "inference_unavailable",
                  f"The inference server stayed unavailable after {request.attempts} attempts: {exc}",
                  model_calls=[c.as_dict() for c in ctx.calls])
            return ExecuteOutcome("done")
        delay = _backoff(request.attempts)
        released = InferenceRequest.objects.filter(pk=request.pk, claim_token=token).update(
            status=Status.QUEUED, claim_token=None, lease_expires_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            error_code="retrying", error_message=f"attempt {request.attempts}: {exc}"[:2000],
        )
        return ExecuteOutcome("retry", retry_in=delay) if released else ExecuteOutcome("skipped")
    except triton.TritonRejected as exc:
        _fail(request, token, "model_rejected", f"The model refused the input: {exc}")
        return ExecuteOutcome("done")
    except pipelines.InputRejected as exc:
        _fail(request, token, "invalid_input", str(exc))
        return ExecuteOutcome("done")
    except SoftTimeLimitExceeded:
        _fail(request, token, "timeout", "The request took longer than the time limit.")
        return ExecuteOutcome("done")
    except Exception as exc:
        logger.exception("request %s failed in pipeline %s", request.pk, request.scenario.pipeline)
        _fail(request, token, "internal_error", f"{type(exc).__name__}: {exc}")
        return ExecuteOutcome("done")

    pipeline_ms = (time.perf_counter() - t0) * 1000
    values: dict[str, Any] = {
        "status": Status.SUCCEEDED,
        "result": {**outcome.as_result(), "pipeline_ms": round(pipeline_ms, 2)},
        "alert": outcome.alert,
        "compute_ms": ctx.compute_ms,
        "model_calls": [c.as_dict() for c in ctx.calls],
        "error_code": "",
        "error_message": "",
    }
    if outcome.annotated_jpeg:
        name = request.annotated_image.field.generate_filename(request, "annotated.jpg")
        storage = request.annotated_image.storage
        if storage.exists(name):
            storage.delete(name)
        values["annotated_image"] = storage.save(name, ContentFile(outcome.annotated_jpeg))
    _finish(request, token, **values)
    return ExecuteOutcome("done")


# --- recovery -----------------------------------------------------------------------------------


def inference_requests_requeue_stale(*, now=None) -> int:
    """Put back to work what a lost worker or a lost message left behind; returns how many.

    A RUNNING row whose lease ran out lost its worker; a QUEUED row long past its due time lost
    its message (broker restarted empty, or enqueueing failed). A duplicate message is harmless:
    the claim lets only one through.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    stale = InferenceRequest.objects.filter(
        Q(status=Status.RUNNING, lease_expires_at__lt=now)
        | Q(status=Status.QUEUED, next_attempt_at__lt=now - grace)
    ).only("id", "tier")[:1000]
    count = 0
    for request in stale:
        touched = InferenceRequest.objects.filter(pk=request.pk).filter(
            Q(status=Status.RUNNING, lease_expires_at__lt=now) | Q(status=Status.QUEUED)
        ).update(status=Status.QUEUED, claim_token=None, lease_expires_at=None, next_attempt_at=now)
        if touched:
            _enqueue(request)
            count += 1
    if count:
        logger.info("requeued %d stale requests", count)
    return count
