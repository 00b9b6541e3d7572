"""Reads of inference requests, always through the bureau scope."""

import time
from datetime import datetime, timedelta
from functools import partial

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from services.accounts.selectors import Actor, get_scoped_or_404, scope_to_actor
from services.catalog.models import Entitlement
from services.core.filters import filter_given, today_start
from services.inference.models import InferenceRequest
from services.inference.notify import hub
from services.inference.pipelines import PastRequest

Status = InferenceRequest.Status


def inference_request_list(
    *, actor: Actor, scenario: str | None = None, status: str | None = None, domain: str | None = None,
    bureau: str | None = None, alert: bool | None = None, day: tuple[datetime, datetime] | None = None,
) -> QuerySet[InferenceRequest]:
    """The actor's requests, newest first. Every filter narrows the scope, never widens it: ``bureau``
    is a slug, ``alert`` False includes requests without a decision (failed ones), ``day`` is
    [start, end) of submission."""
    qs = scope_to_actor(InferenceRequest.objects.select_related("scenario", "bureau"), actor)
    qs = filter_given(qs, scenario__slug=scenario, status=status, scenario__domain__slug=domain, bureau__slug=bureau)
    if day is not None:
        qs = qs.filter(created_at__gte=day[0], created_at__lt=day[1])
    if alert is True:
        qs = qs.filter(alert=True)
    elif alert is False:
        qs = qs.filter(Q(alert=False) | Q(alert__isnull=True))
    return qs.order_by("-created_at")


def inference_request_counts_today(*, actor: Actor) -> dict[str, int]:
    """Today's requests in the actor's scope: total, alerts, failed, and waiting (queued or running)."""
    return inference_request_list(actor=actor).filter(created_at__gte=today_start()).aggregate(
        total=Count("id"),
        alerts=Count("id", filter=Q(alert=True)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        waiting=Count("id", filter=Q(status__in=(Status.QUEUED, Status.RUNNING))),
    )


def inference_request_in_flight(*, actor: Actor) -> dict[str, int]:
    """Work in the actor's scope: queued and running now, succeeded and failed in the last hour."""
    hour_ago = timezone.now() - timedelta(hours=1)
    return scope_to_actor(InferenceRequest.objects.all(), actor).aggregate(
        queued=Count("id", filter=Q(status=Status.QUEUED)),
        running=Count("id", filter=Q(status=Status.RUNNING)),
        done_hour=Count("id", filter=Q(finished_at__gte=hour_ago, status=Status.SUCCEEDED)),
        failed_hour=Count("id", filter=Q(finished_at__gte=hour_ago, status=Status.FAILED)),
    )


def inference_request_get(*, actor: Actor, request_id) -> InferenceRequest:
    return get_scoped_or_404(InferenceRequest.objects.select_related("scenario", "bureau"), actor, pk=request_id)


def inference_request_history(
    *, request: InferenceRequest, within_s: float = 3600, same_source: bool = True, limit: int = 200,
    older_than_s: float = 0,
) -> list[PastRequest]:
    """Earlier succeeded requests of the same bureau and scenario (and source) captured before this one,
    newest first by capture time. ``older_than_s`` skips the most recent ones (a rule comparing with
    the view of an hour ago asks for that frame alone, not for every frame since)."""
    qs = InferenceRequest.objects.filter(
        bureau_id=request.bureau_id,
        scenario_id=request.scenario_id,
        status=InferenceRequest.Status.SUCCEEDED,
        captured_at__lt=request.captured_at,
        captured_at__gte=request.captured_at - timedelta(seconds=within_s),
    ).exclude(pk=request.pk)
    if same_source:
        qs = qs.filter(source=request.source)
    if older_than_s > 0:
        qs = qs.filter(captured_at__lte=request.captured_at - timedelta(seconds=older_than_s))
    rows = qs.order_by("-captured_at").values(
        "id", "created_at", "captured_at", "source", "input_data", "params", "result", "input_file"
    )[:limit]
    return [
        PastRequest(str(r["id"]), r["created_at"], r["source"], r["input_data"], r["params"], r["result"] or {},
                    captured_at=r["captured_at"], load_input=partial(_read_input_file, r["input_file"]))
        for r in rows
    ]


def inference_request_stored_input(*, request: InferenceRequest, request_id: str) -> bytes | None:
    """The stored input of an earlier request of the same bureau, scenario and source (a rule's
    reference frame, named in an earlier result); None when there is none or retention purged it."""
    name = InferenceRequest.objects.filter(
        pk=request_id, bureau_id=request.bureau_id, scenario_id=request.scenario_id, source=request.source,
    ).values_list("input_file", flat=True).first()
    return _read_input_file(name or "")


def _read_input_file(name: str) -> bytes | None:
    if not name:
        return None
    try:
        with InferenceRequest._meta.get_field("input_file").storage.open(name, "rb") as fh:
            return fh.read()
    except OSError:  # purged by retention
        return None


_RELOAD_SQL: list[str] = []


def inference_request_reload(request: InferenceRequest) -> None:
    """``refresh_from_db`` without the ORM's per-call query compilation (a waiting API call reads its
    row once more when the notice arrives) and keeping the loaded scenario and bureau."""
    if not _RELOAD_SQL:
        quote = connection.ops.quote_name
        meta = InferenceRequest._meta
        _RELOAD_SQL.append(f"SELECT {', '.join(quote(f.column) for f in meta.concrete_fields)} "  # noqa: S608
                           f"FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s")
    pk = InferenceRequest._meta.pk.get_db_prep_value(request.pk, connection)
    fresh = next(iter(InferenceRequest.objects.raw(_RELOAD_SQL[0], [pk])), None)
    if fresh is None:
        raise InferenceRequest.DoesNotExist(request.pk)
    for field in InferenceRequest._meta.concrete_fields:
        if not field.is_relation:
            setattr(request, field.attname, getattr(fresh, field.attname))


def inference_request_wait(*, request: InferenceRequest, seconds: float) -> InferenceRequest:
    """Wait up to ``seconds`` for a request to finish: woken by its notice (see ``notify``), and
    re-reading the row every second anyway, so a lost notice costs at most a second.

    A request created while this process was already listening needs no read before the wait: its
    notice cannot have been missed. Otherwise the row is read first (it may have finished already)."""
    if request.is_terminal or seconds <= 0:
        return request
    deadline = time.monotonic() + seconds
    event = hub.register(request.pk)
    try:
        since = hub.listening_since()
        if since is None or request.created_at is None or request.created_at.timestamp() < since + 0.001:
            inference_request_reload(request)
        while not request.is_terminal:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if event.wait(min(remaining, 1.0)):
                event.clear()  # heard once; from now on the row is read once a second
            inference_request_reload(request)
    finally:
        hub.unregister(request.pk, event)
    return request


def inference_requests_wait(*, requests: list[InferenceRequest], seconds: float) -> list[InferenceRequest]:
    """Wait up to ``seconds`` for all of a batch to finish (woken by their notices, and re-reading
    the unfinished ones every second anyway), then read the finished ones once, in one statement."""
    waiting = [r for r in requests if not r.is_terminal]
    if not waiting or seconds <= 0:
        return requests
    deadline = time.monotonic() + seconds
    events = {r.pk: hub.register(r.pk) for r in waiting}
    try:
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            heard = [r for r in waiting if events[r.pk].is_set()]
            if not heard:
                events[waiting[0].pk].wait(min(remaining, 1.0))
                heard = [r for r in waiting if events[r.pk].is_set()] or waiting  # a second passed: poll
            fresh = {r.pk: r for r in InferenceRequest.objects.filter(pk__in=[r.pk for r in heard])}
            for request in heard:
                row = fresh.get(request.pk)
                if row is not None and row.is_terminal:
                    for field in InferenceRequest._meta.concrete_fields:
                        if not field.is_relation:
                            setattr(request, field.attname, getattr(row, field.attname))
                events[request.pk].clear()
            waiting = [r for r in waiting if not r.is_terminal]
    finally:
        for pk, event in events.items():
            hub.unregister(pk, event)
    return requests


def entitlement_usage_list(*, actor: Actor, bureau) -> list[dict]:
    """A bureau's entitlements with what it used of each today and this month (requests, compute).

    It lives here rather than in the catalog because usage is counted on request rows, and the
    catalog must not depend on inference. ``bureau`` must be one the actor may see.
    """
    day = today_start()
    month = day.replace(day=1)
    rows = scope_to_actor(InferenceRequest.objects.filter(bureau=bureau, created_at__gte=month), actor)
    usage = {
        row["scenario_id"]: row
        for row in rows.values("scenario_id").annotate(
            month=Count("id"),
            today=Count("id", filter=Q(created_at__gte=day)),
            compute_ms=Sum("compute_ms"),
        )
    }
    entitlements = scope_to_actor(Entitlement.objects.select_related("scenario", "scenario__domain"), actor)
    out = []
    for ent in entitlements.filter(bureau=bureau).order_by("scenario__domain__order", "scenario__order"):
        used = usage.get(ent.scenario_id, {})
        today = used.get("today", 0)
        compute_s = (used.get("compute_ms") or 0) / 1000
        out.append({
            "entitlement": ent,
            "today": today,
            "month": used.get("month", 0),
            "quota_pct": min(100, round(100 * today / ent.daily_quota)) if ent.daily_quota else 100,
            "compute_s": compute_s,
            "budget_pct": min(100, round(100 * compute_s / ent.monthly_compute_budget_s))
            if ent.monthly_compute_budget_s else 100,
        })
    return out
