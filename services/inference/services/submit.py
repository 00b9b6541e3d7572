"""Accepting requests: validate, check entitlement, limits and quota, store, announce on commit.

One path for one input and for a batch of up to ``CITYAI_MAX_BATCH_ITEMS`` inputs of one scenario:
a single submit is a batch of one. Each input becomes its own row (own status, result, quota unit,
metering, events, audit), but a batch checks the limits once, reserves its quota in one statement,
inserts its rows in one statement and announces them with one drain message. An input that cannot
be accepted (wrong kind, bad params, a malformed capture time) is refused alone, with its reason.
"""

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from services.accounts.selectors import Actor
from services.catalog.models import Scenario
from services.catalog.params import resolve_params
from services.catalog.selectors import scenario_get_active
from services.core.bulk import insert_rows
from services.core.errors import ApplicationError, Conflict, PermissionDenied, Throttled
from services.inference import pipelines
from services.inference.inputs import CheckedInput, check_captured_at, reject_nul
from services.inference.models import InferenceRequest
from services.inference.services.enqueue import drains_for, enqueue_drain
from services.inference.services.quota import admit, release_quota


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


def _check_source(source: str) -> str:
    source = (source or "").strip()
    if len(source) > 200 or not source.isprintable():
        raise ApplicationError("source must be at most 200 printable characters.", code="invalid_source")
    return source


def _check_source_needed(scenario: Scenario, item: "SubmitItem") -> None:
    needs = pipelines.get(scenario.pipeline).needs_source
    reason = needs(item.params) if needs is not None and not item.source else None
    if reason:
        raise ApplicationError(
            f"Scenario {scenario.slug!r} {reason}: send a 'source' (the camera or device id) with each input.",
            code="source_required",
        )


def _check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise ApplicationError("Idempotency-Key must be 1–200 printable characters.", code="invalid_idempotency_key")
    return key


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


@dataclass
class SubmitItem:
    """One input of a submit, and after it what became of it: a row (``request``, ``created`` False
    for an idempotent replay) or the refusal (``error``)."""

    checked: CheckedInput | None
    params: Any = None
    source: str = ""
    captured_at: datetime | None = None
    idempotency_key: str | None = None
    request: InferenceRequest | None = None
    created: bool = False
    error: ApplicationError | None = field(default=None)


def inference_requests_submit(*, actor: Actor, scenario_slug: str, items: list[SubmitItem]) -> list[SubmitItem]:
    """Accept the items that can be accepted; returns the items, each with its row or its refusal.

    Refusals that concern the whole call (role, key scope, entitlement, scenario, backlog, budget)
    raise; a quota that covers only some of the items accepts the first ones and refuses the rest."""
    if not actor.can_submit:
        raise PermissionDenied("Your role may not submit requests.", code="cannot_submit")
    if actor.api_client is not None and not actor.api_client.allows(scenario_slug):
        raise PermissionDenied(f"This API key is not scoped for {scenario_slug!r}.", code="out_of_scope")
    bureau = actor.bureau
    for item in items:
        if item.checked is None and item.error is None:
            item.error = ApplicationError("This item has no input.", code="missing_input")
        if item.error is not None:
            continue
        try:
            item.idempotency_key = _check_idempotency_key(item.idempotency_key)
            if item.idempotency_key is not None:
                existing = _idempotent_match(bureau, item.idempotency_key, scenario_slug, item.checked)
                if existing is not None:
                    item.request = existing
        except ApplicationError as exc:
            item.error = exc
    pending = [item for item in items if item.error is None and item.request is None]
    if not pending:
        return items
    scenario = scenario_get_active(slug=scenario_slug)
    resolved_defaults = None
    for item in pending:
        try:
            if item.checked.kind != scenario.input_kind:
                raise ApplicationError(
                    f"Scenario {scenario.slug!r} takes {scenario.input_kind} input, not {item.checked.kind}.",
                    code="wrong_input_kind",
                )
            if item.params in (None, {}):  # the defaults are resolved once per call
                if resolved_defaults is None:
                    resolved_defaults = scenario_params_resolve(scenario=scenario, params=None)
                item.params = dict(resolved_defaults)
            else:
                item.params = scenario_params_resolve(scenario=scenario, params=item.params)
            item.source = _check_source(item.source)
            _check_source_needed(scenario, item)
            check_captured_at(item.captured_at)
        except ApplicationError as exc:
            item.error = exc
    pending = [item for item in pending if item.error is None]
    if not pending:
        return items
    now = timezone.localtime()
    entitlement, tier, pending = _admit(scenario, bureau, now, pending)
    _store(actor=actor, scenario=scenario, entitlement=entitlement, tier=tier, now=now, items=pending)
    return items


def _admit(scenario, bureau, now, pending: list[SubmitItem]):
    """Admit all pending items, or as many as today's quota has left (the rest are refused)."""
    try:
        entitlement, tier = admit(scenario=scenario, bureau=bureau, now=now, count=len(pending))
        return entitlement, tier, pending
    except Throttled as exc:
        if len(pending) == 1 or exc.code != "quota_exceeded":
            raise
    admitted, refusal = None, None
    taken = 0
    for _ in pending:  # fewer left than asked: take them one by one
        try:
            admitted = admit(scenario=scenario, bureau=bureau, now=now, count=1)
        except Throttled as exc:
            refusal = exc
            break
        taken += 1
    if taken == 0:
        raise refusal
    for item in pending[taken:]:
        item.error = refusal
    entitlement, tier = admitted
    return entitlement, tier, pending[:taken]


def _row(actor: Actor, scenario: Scenario, tier: str, item: SubmitItem) -> InferenceRequest:
    checked = item.checked
    created_at = timezone.now()
    request = InferenceRequest(
        bureau=actor.bureau,
        scenario=scenario,
        submitted_by=actor.user,
        api_client=actor.api_client,
        idempotency_key=item.idempotency_key,
        source=item.source,
        input_kind=checked.kind,
        input_data=checked.data,
        input_name=checked.name,
        input_content_type=checked.content_type,
        input_sha256=checked.sha256,
        input_bytes=checked.size,
        params=item.params,
        tier=tier,
        next_attempt_at=created_at,
        created_at=created_at,
        captured_at=item.captured_at or created_at,
    )
    if checked.content is not None:
        request.input_file.save(f"input.{checked.extension}", ContentFile(checked.content), save=False)
    return request


_COLUMNS = [f.name for f in InferenceRequest._meta.concrete_fields]


def _store(*, actor, scenario, entitlement, tier, now, items: list[SubmitItem]) -> None:
    """Insert the rows in one statement and announce them once it commits. Two submits racing on
    one idempotency key: the loser's item returns the winner's row."""
    rows = [_row(actor, scenario, tier, item) for item in items]
    try:
        # One statement needs no transaction of its own (a savepoint when the caller has one).
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            insert_rows(InferenceRequest, rows, _COLUMNS)  # one short statement, any number of rows
            transaction.on_commit(
                lambda: enqueue_drain(scenario_id=scenario.pk, tier=tier, parallel=drains_for(scenario)))
    except IntegrityError:
        if not any(item.idempotency_key for item in items):
            release_quota(entitlement, now, count=len(items))
            raise
        _store_one_by_one(actor, scenario, entitlement, tier, now, items, rows)
        return
    except BaseException:
        release_quota(entitlement, now, count=len(items))
        raise
    for item, row in zip(items, rows, strict=True):
        item.request, item.created = row, True


def _store_one_by_one(actor, scenario, entitlement, tier, now, items, rows) -> None:
    stored = 0
    for item, row in zip(items, rows, strict=True):
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            item.request, item.created = row, True
            stored += 1
        except IntegrityError:
            item.request = _idempotent_match(actor.bureau, item.idempotency_key, scenario.slug, item.checked)
            if item.request is None:
                item.error = Conflict("The request could not be stored; try again.", code="conflict")
    release_quota(entitlement, now, count=len(items) - stored)
    if stored:
        enqueue_drain(scenario_id=scenario.pk, tier=tier, parallel=drains_for(scenario))


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
    """Accept one request (a batch of one). ``captured_at`` is when a frame or reading was taken (an
    aware datetime, not in the future); rules that follow a source over time order and space its
    requests by it. Returns (request, created); a repeated idempotency key returns the first
    request unchanged."""
    item = SubmitItem(checked=checked, params=params, source=source, captured_at=captured_at,
                      idempotency_key=idempotency_key)
    inference_requests_submit(actor=actor, scenario_slug=scenario_slug, items=[item])
    if item.error is not None:
        raise item.error
    return item.request, item.created
