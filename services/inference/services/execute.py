"""Running requests: claim → pipeline → record, one request or a batch of one scenario at once.

The row is the record and the claim is the lock: a conditional UPDATE moves rows from QUEUED to
RUNNING under a claim token and a lease, and only the holder of the token may finish them, so a
redelivered message does nothing twice. A *drain* claims up to ``CITYAI_WORKER_BATCH_SIZE`` due rows
(queued and due, or running under a lease that ran out: their worker died) of one scenario and tier
in one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``, runs their pipelines
side by side (so Triton's dynamic batcher sees them together), finishes them in one statement and
announces them with one signal and one Redis notice: the bookkeeping of a batch costs a handful of
statements, not a handful per request. Each row still has its own result, status,
error, timings and model calls; one bad input fails only its own row.
"""

import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from services.accounts.models import Bureau
from services.catalog.models import Entitlement, Scenario
from services.core.bulk import update_rows
from services.core.configcache import cached_row
from services.inference import pipelines, triton
from services.inference.models import InferenceRequest
from services.inference.notify import publish_finished
from services.inference.routing import routing_model
from services.inference.selectors import inference_request_history, inference_request_stored_input
from services.inference.services.enqueue import drain_alive, drain_leaving, drain_staying, enqueue_drain
from services.inference.signals import requests_finished

logger = logging.getLogger(__name__)
Status = InferenceRequest.Status

TIER_PRIORITY = {Entitlement.Tier.HIGH: 1, Entitlement.Tier.NORMAL: 2, Entitlement.Tier.BULK: 3}

# What a finish writes; the same columns for every row of a batch (unchanged ones keep their value).
_FINISH_FIELDS = ("status", "result", "alert", "compute_ms", "model_calls", "error_code", "error_message",
                  "annotated_image", "finished_at", "total_ms", "queue_ms", "claim_token", "lease_expires_at")


@dataclass(frozen=True)
class ExecuteOutcome:
    """``retry_in``: seconds after which the same message should be tried again (someone else holds
    the claim, or Triton was unavailable); None when nothing more is to be done."""

    retry_in: float | None = None


def _backoff(attempt: int) -> float:
    base = settings.CITYAI_TASK_RETRY_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    return min(60.0, base) * random.uniform(0.8, 1.2)


# --- claim --------------------------------------------------------------------------------------

# Table and column names come from the model, values are parameters.
_CLAIM_ONE_SQL = """
UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, attempts = attempts + 1,
       started_at = COALESCE(started_at, %s)
 WHERE id = %s AND (status = %s OR (status = %s AND lease_expires_at < %s))
RETURNING {columns}
"""

_CLAIM_DUE_SQL = """
UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, attempts = attempts + 1,
       started_at = COALESCE(started_at, %s)
 WHERE id IN (SELECT id FROM {table}
               WHERE scenario_id = %s AND tier = %s
                 AND ((status = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s))
                      OR (status = %s AND lease_expires_at < %s))
               ORDER BY next_attempt_at LIMIT %s{lock})
RETURNING {columns}
"""


def _sql(template: str) -> str:
    meta = InferenceRequest._meta
    quote = connection.ops.quote_name
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    return template.format(table=quote(meta.db_table), lock=lock,
                           columns=", ".join(quote(f.column) for f in meta.concrete_fields))


def _prep(values: list[tuple[str, Any]]) -> list:
    meta = InferenceRequest._meta
    return [meta.get_field(name).get_db_prep_value(value, connection) if name else value for name, value in values]


def _claim_values(token, now) -> list[tuple[str, Any]]:
    return [("status", Status.RUNNING), ("claim_token", token),
            ("lease_expires_at", now + timedelta(seconds=settings.CITYAI_CLAIM_LEASE_SECONDS)), ("started_at", now)]


def _claimed(rows: list[InferenceRequest]) -> list[InferenceRequest]:
    # Catalog rows change rarely; a worker reads each scenario and bureau once a minute, not per request.
    for request in rows:
        request.scenario = cached_row(Scenario, request.scenario_id, "domain", "owner_bureau")
        request.bureau = cached_row(Bureau, request.bureau_id)
    return rows


def _claim_one(request_id) -> tuple[uuid.UUID | None, list[InferenceRequest]]:
    now = timezone.now()
    token = uuid.uuid4()
    try:
        params = _prep([*_claim_values(token, now), ("id", request_id), ("status", Status.QUEUED),
                        ("status", Status.RUNNING), ("lease_expires_at", now)])
    except ValidationError:
        return None, []  # not a request id at all
    rows = list(InferenceRequest.objects.raw(_sql(_CLAIM_ONE_SQL), params))
    return (token, _claimed(rows)) if rows else (None, [])


def _claim_due(scenario_id, tier: str, limit: int) -> tuple[uuid.UUID, list[InferenceRequest]]:
    now = timezone.now()
    token = uuid.uuid4()
    params = _prep([*_claim_values(token, now), ("", scenario_id), ("tier", tier), ("status", Status.QUEUED),
                    ("next_attempt_at", now), ("status", Status.RUNNING), ("lease_expires_at", now), ("", limit)])
    return token, _claimed(list(InferenceRequest.objects.raw(_sql(_CLAIM_DUE_SQL), params)))


# --- run ----------------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(settings.CITYAI_WORKER_BATCH_THREADS, thread_name_prefix="cityai-batch")
    return _pool


def _load_item(request: InferenceRequest) -> pipelines.Item:
    content = None
    if request.input_file:
        with request.input_file.open("rb") as fh:
            content = fh.read()
    return pipelines.Item(kind=request.input_kind, params=request.params, content=content, data=request.input_data)


@dataclass
class _Run:
    """What running one claimed request came to: values to finish it with, or a retry."""

    request: InferenceRequest
    values: dict[str, Any] | None = None
    retry_in: float | None = None
    retry_message: str = ""


def _failed(code: str, message: str, **values: Any) -> dict[str, Any]:
    return {"status": Status.FAILED, "error_code": code, "error_message": message[:2000], **values}


def _run_one(request: InferenceRequest) -> _Run:
    ctx = pipelines.Context(
        priority=TIER_PRIORITY.get(request.tier, 0),
        timeout_s=settings.TRITON_TIMEOUT_SECONDS,
        source=request.source,
        now=request.captured_at,
        history=partial(inference_request_history, request=request),
        stored_input=lambda request_id: inference_request_stored_input(request=request, request_id=request_id),
        load_router=routing_model,
    )
    t0 = time.perf_counter()
    try:
        family = pipelines.get(request.scenario.pipeline)
        outcome = family.run(ctx, _load_item(request))
    except triton.TritonUnavailable as exc:
        if request.attempts >= settings.CITYAI_TASK_MAX_RETRIES:
            return _Run(request, _failed(
                "inference_unavailable",
                f"The inference server stayed unavailable after {request.attempts} attempts: {exc}",
                model_calls=[c.as_dict() for c in ctx.calls]))
        return _Run(request, retry_in=_backoff(request.attempts), retry_message=f"attempt {request.attempts}: {exc}")
    except triton.TritonRejected as exc:
        return _Run(request, _failed("model_rejected", f"The model refused the input: {exc}"))
    except pipelines.InputRejected as exc:
        return _Run(request, _failed("invalid_input", str(exc)))
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        logger.exception("request %s failed in pipeline %s", request.pk, request.scenario.pipeline)
        return _Run(request, _failed("internal_error", f"{type(exc).__name__}: {exc}"))

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
    return _Run(request, values)


def _run_all(requests: list[InferenceRequest]) -> list[_Run]:
    """Run the pipelines; several side by side, so that their Triton calls arrive together."""
    if len(requests) == 1:
        try:
            return [_run_one(requests[0])]
        except SoftTimeLimitExceeded:
            return [_Run(requests[0], _failed("timeout", "The request took longer than the time limit."))]
    futures = [_executor().submit(_run_one, request) for request in requests]
    runs = []
    for request, future in zip(requests, futures, strict=True):
        try:
            runs.append(future.result())
        except SoftTimeLimitExceeded:
            future.cancel()
            runs.append(_Run(request, _failed("timeout", "The request took longer than the time limit.")))
    return runs


# --- finish -------------------------------------------------------------------------------------


def _complete(request: InferenceRequest, values: dict[str, Any], finished_at) -> None:
    values.setdefault("finished_at", finished_at)
    values["total_ms"] = (values["finished_at"] - request.created_at).total_seconds() * 1000
    if request.started_at is not None:
        values["queue_ms"] = (request.started_at - request.created_at).total_seconds() * 1000
    values.update(claim_token=None, lease_expires_at=None)
    for name, value in values.items():
        setattr(request, name, value)


def _finish(token: uuid.UUID, done: list[tuple[InferenceRequest, dict[str, Any]]]) -> list[InferenceRequest]:
    """Record the end of the requests this worker still holds; returns those it recorded.

    One UPDATE for the whole batch, in autocommit, with arrays as parameters (``core.bulk``; the ORM's
    bulk_update compiled a CASE per field and row: half the worker's time on a cheap model). A row
    whose claim was lost meanwhile (its lease ran out and another worker took it over) is left to
    that worker."""
    if not done:
        return []
    finished_at = timezone.now()
    for request, values in done:
        _complete(request, values, finished_at)
    rows = [request for request, _ in done]
    if connection.vendor == "postgresql":
        token_db = InferenceRequest._meta.get_field("claim_token").get_db_prep_value(token, connection)
        quote = connection.ops.quote_name
        table = quote(InferenceRequest._meta.db_table)
        ours = update_rows(InferenceRequest, rows, _FINISH_FIELDS,
                           where=f"{table}.{quote('status')} = %s AND {table}.{quote('claim_token')} = %s",
                           where_params=[Status.RUNNING, token_db])
        recorded = [r for r in rows if r.pk in ours]
    else:  # SQLite (the embedded default): one UPDATE per row, in one transaction
        held = InferenceRequest.objects.filter(status=Status.RUNNING, claim_token=token)
        with transaction.atomic():
            recorded = [r for r in rows
                        if held.filter(pk=r.pk).update(**{name: getattr(r, name) for name in _FINISH_FIELDS})]
    if len(recorded) != len(done):
        lost = {request.pk for request, _ in done} - {r.pk for r in recorded}
        logger.warning("requests %s: claim lost before finishing; these results are discarded", sorted(lost))
    return recorded


def announce_finished(requests: list[InferenceRequest]) -> None:
    """Subscribers (events, metering, webhooks) first; waiting API calls are woken last, so that a
    caller who sees the result also sees everything recorded about it (and a test that ends with the
    answer leaves no worker still writing). Subscribers get the finished rows as recorded, so that
    none of them needs to read them again."""
    if not requests:
        return
    # One failing subscriber must not keep the others (or the waiting callers) from hearing of it.
    for receiver, result in requests_finished.send_robust(sender=InferenceRequest, requests=requests):
        if isinstance(result, Exception):
            logger.error("%d requests: %s failed on requests_finished: %r", len(requests), receiver, result)
    publish_finished([r.pk for r in requests])


def _release_for_retry(run: _Run, token: uuid.UUID) -> bool:
    request = run.request
    return bool(InferenceRequest.objects.filter(pk=request.pk, claim_token=token).update(
        status=Status.QUEUED, claim_token=None, lease_expires_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=run.retry_in),
        error_code="retrying", error_message=run.retry_message[:2000],
    ))


def _execute(requests: list[InferenceRequest], token: uuid.UUID, *, announce_retries: bool) -> float | None:
    """Run and record claimed requests; returns the earliest retry delay among them, if any."""
    runs = _run_all(requests)
    recorded = _finish(token, [(run.request, run.values) for run in runs if run.values is not None])
    transaction.on_commit(lambda: announce_finished(recorded))
    retry_in = None
    for run in runs:
        if run.retry_in is not None and _release_for_retry(run, token):
            retry_in = run.retry_in if retry_in is None else min(retry_in, run.retry_in)
            if announce_retries:
                enqueue_drain(scenario_id=run.request.scenario_id, tier=run.request.tier, countdown=run.retry_in)
    return retry_in


def inference_request_execute(*, request_id) -> ExecuteOutcome:
    """Run one request by id. Safe to call twice for the same id: only the holder of the claim works."""
    token, claimed = _claim_one(request_id)
    if token is None:
        state = InferenceRequest.objects.filter(pk=request_id).values("status", "lease_expires_at").first()
        if state is None:
            logger.warning("request %s does not exist; nothing to do", request_id)
        elif state["status"] == Status.RUNNING and state["lease_expires_at"] is not None:
            # Someone holds it; if that worker died, the lease runs out and we take over then.
            wait = (state["lease_expires_at"] - timezone.now()).total_seconds() + 1
            return ExecuteOutcome(retry_in=max(1.0, wait))
        return ExecuteOutcome()
    return ExecuteOutcome(retry_in=_execute(claimed, token, announce_retries=False))


def inference_requests_drain(*, scenario_id, tier: str, limit: int | None = None, counted: bool = True) -> int:
    """Claim and run due requests of one scenario and tier, ``limit`` at a time, until none is due
    (or ``CITYAI_DRAIN_MAX_SECONDS`` pass, when another drain takes over); returns how many ran.

    ``counted``: whether the message that started it was counted as announced (see ``enqueue``); a
    delayed one joins the count when it starts. A full batch asks for another drain to help."""
    limit = limit or settings.CITYAI_WORKER_BATCH_SIZE
    if not counted:
        drain_staying(scenario_id=scenario_id, tier=tier)
    deadline = time.monotonic() + settings.CITYAI_DRAIN_MAX_SECONDS
    ran, holding = 0, True
    try:
        token, claimed = _claim_due(scenario_id, tier, limit)
        while True:
            if not claimed:
                # Nothing due: leave the count, then claim once more to catch a row committed by a
                # submit that saw this drain still counted.
                drain_leaving(scenario_id=scenario_id, tier=tier)
                holding = False
                token, claimed = _claim_due(scenario_id, tier, limit)
                if not claimed:
                    return ran
                drain_staying(scenario_id=scenario_id, tier=tier)
                holding = True
            full = len(claimed) >= limit
            if full:
                enqueue_drain(scenario_id=scenario_id, tier=tier, force=True)
            _execute(claimed, token, announce_retries=True)
            ran += len(claimed)
            drain_alive(scenario_id=scenario_id, tier=tier)
            if time.monotonic() > deadline:
                enqueue_drain(scenario_id=scenario_id, tier=tier, force=True)  # hand over; time limits stay far
                return ran
            if full:
                token, claimed = _claim_due(scenario_id, tier, limit)
            else:  # a part batch emptied the queue a moment ago: go straight to the idle check
                token, claimed = None, []
    finally:
        if holding:
            drain_leaving(scenario_id=scenario_id, tier=tier)
