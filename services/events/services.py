"""Writes of the events app: record an event from a finished request, review it, dispatch and move
its work order. Every write checks who acts, runs in one transaction, writes the audit entry in
that transaction and announces the change (``event_changed``) after it commits."""

import logging
from collections.abc import Iterable
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from services.accounts.models import Bureau, Membership
from services.accounts.selectors import Actor
from services.audit.services import audit_record
from services.core.bulk import insert_rows
from services.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from services.events import policy
from services.events.models import Event, EventOccurrence, EventReview, WorkOrder, WorkOrderTransition
from services.events.selectors import event_get, work_order_get
from services.events.signals import event_changed
from services.inference.models import InferenceRequest

logger = logging.getLogger(__name__)
Role = Membership.Role
Status = Event.Status
WO = WorkOrder.Status

ACTING_ROLES = (Role.OPERATOR, Role.MANAGER)
EXCERPT_CHARS = 200
MAX_VALUES = 16


def _announce(event_id, change: str, work_order_id=None, **known) -> None:
    """``known``: facts the sender has at hand (``api_client_id`` of the request that raised the
    event), so that subscribers need not read them again."""
    transaction.on_commit(
        lambda: event_changed.send(sender=Event, event_id=event_id, change=change, work_order_id=work_order_id,
                                   **known)
    )


# --- recording ----------------------------------------------------------------------------------


def responsible_bureau(request: InferenceRequest) -> Bureau:
    """The scenario's owner; for 12345 routing the bureau the complaint was routed to; without
    either, the submitting bureau (someone must own the event)."""
    scenario = request.scenario
    if scenario.pipeline == "text_routing":
        routed = (request.result or {}).get("bureau")
        bureau = Bureau.objects.filter(slug=routed).first() if routed else None
        if bureau is not None:
            return bureau
    return scenario.owner_bureau or request.bureau


def evidence_values(result: dict[str, Any]) -> dict[str, Any]:
    """Key values of a result, small enough to list on an event: scalars, short lists, counts of
    detected objects; big arrays (boxes, series, scores) stay on the request."""
    values: dict[str, Any] = {}
    for key, value in result.items():
        if key in ("summary", "pipeline_ms") or len(values) >= MAX_VALUES:
            continue
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 120):
            values[key] = value
        elif isinstance(value, list) and key == "objects":
            values["objects_count"] = len(value)
        elif isinstance(value, list) and len(value) <= 8 and all(isinstance(v, str | int | float) for v in value):
            values[key] = value
    return values


def _excerpt(request: InferenceRequest) -> str:
    result = request.result or {}
    text = request.input_data if isinstance(request.input_data, str) else result.get("text")
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def event_record_from_request(*, request_id, request: InferenceRequest | None = None) -> Event | None:
    """Turn a finished request whose rule fired into an event, or an occurrence of the open event of
    the same scenario and source within the merge window (the same submitting and responsible
    bureaus too, since they decide who sees it). Safe to call twice for one request.

    ``request`` is the finished row as the worker recorded it (saves reading it again); without it,
    the row is read. An event is seen when its input was captured (a camera frame's time)."""
    if request is None:
        request = (
            InferenceRequest.objects.select_related("scenario__domain", "scenario__owner_bureau", "bureau")
            .filter(pk=request_id)
            .first()
        )
    if request is None or request.status != InferenceRequest.Status.SUCCEEDED or not request.alert:
        return None
    seen_at = request.captured_at
    try:
        with transaction.atomic():
            return _record_in_transaction(request, seen_at)
    except IntegrityError:
        # Another recorder of the same request won (its occurrence row is unique per request).
        return Event.objects.filter(occurrences__request=request).first()


def _record_in_transaction(request: InferenceRequest, seen_at) -> Event:
    scenario = request.scenario
    if request.source and connection.vendor == "postgresql":
        # Serialise recorders of the same scenario and source, so that two alerts arriving together
        # cannot both open a new event; different sources do not wait for each other. Alerts without
        # a source never merge, so they need no lock (the unique occurrence keeps them idempotent).
        # SQLite (the embedded default) lets one writer at a time anyway.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           [f"events:{scenario.pk}:{request.source}"])
    done = EventOccurrence.objects.select_related("event").filter(request=request).first()
    if done is not None:
        return done.event
    bureau = responsible_bureau(request)
    window = policy.merge_window(scenario)
    # Without a source there is no "same source": such alerts never merge.
    open_event = request.source and (
        Event.objects.select_for_update()
        .filter(scenario=scenario, source=request.source, bureau=bureau, source_bureau=request.bureau,
                status__in=Event.OPEN, last_seen_at__gte=seen_at - window, first_seen_at__lte=seen_at + window)
        .order_by("-last_seen_at")
        .first()
    )
    if open_event:
        open_event.occurrence_count += 1
        if seen_at >= open_event.last_seen_at:
            open_event.last_seen_at = seen_at
            open_event.last_request = request
            open_event.summary = (request.result or {}).get("summary", "")[:500]
            open_event.values = evidence_values(request.result or {})
        open_event.save(update_fields=["occurrence_count", "last_seen_at", "last_request", "summary", "values",
                                       "updated_at"])
        EventOccurrence.objects.create(event=open_event, request=request, seen_at=seen_at)
        _announce(open_event.pk, "merged")
        return open_event
    event = _new_event(request, bureau)
    event.save(force_insert=True)
    EventOccurrence.objects.create(event=event, request=request, seen_at=seen_at)
    _announce(event.pk, "created", api_client_id=request.api_client_id)
    return event


def _new_event(request: InferenceRequest, bureau: Bureau) -> Event:
    seen_at = request.captured_at
    return Event(
        scenario=request.scenario,
        bureau=bureau,
        source_bureau=request.bureau,
        source=request.source,
        severity=policy.severity_for(request.scenario),
        first_request=request,
        last_request=request,
        summary=(request.result or {}).get("summary", "")[:500],
        excerpt=_excerpt(request),
        values=evidence_values(request.result or {}),
        first_seen_at=seen_at,
        last_seen_at=seen_at,
    )


_EVENT_FIELDS = [f.name for f in Event._meta.concrete_fields]


def event_record_from_requests(*, requests: list[InferenceRequest]) -> list[Event]:
    """Record the events of a finished batch. Alerts with a source may merge into an open event
    and are recorded one by one under their source's lock; alerts without a source never merge, so
    a batch of them is recorded with one INSERT of events and one of occurrences."""
    alerts = [r for r in requests if r.status == InferenceRequest.Status.SUCCEEDED and r.alert]
    merging = [r for r in alerts if r.source]
    single = [r for r in alerts if not r.source]
    events = [event_record_from_request(request_id=r.pk, request=r) for r in merging]
    if len(single) == 1:
        events.append(event_record_from_request(request_id=single[0].pk, request=single[0]))
    elif single:
        try:
            with transaction.atomic():
                done = set(EventOccurrence.objects.filter(request__in=[r.pk for r in single])
                           .values_list("request_id", flat=True))
                new = [r for r in single if r.pk not in done]
                created = [_new_event(r, responsible_bureau(r)) for r in new]
                insert_rows(Event, created, _EVENT_FIELDS)
                insert_rows(EventOccurrence, [EventOccurrence(event=e, request=r, seen_at=r.captured_at)
                                              for e, r in zip(created, new, strict=True)],
                            ["event", "request", "seen_at"])
                for event in created:
                    _announce(event.pk, "created", api_client_id=event.first_request.api_client_id)
            events.extend(created)
        except IntegrityError:  # another recorder of some of them won: one by one finds out which
            events.extend(event_record_from_request(request_id=r.pk, request=r) for r in single)
    return [e for e in events if e is not None]


# --- review -------------------------------------------------------------------------------------


def _require_role(actor: Actor, bureau: Bureau, roles, what: str) -> None:
    if actor.bureau is None or actor.bureau.pk != bureau.pk or actor.role not in roles:
        raise PermissionDenied(f"Only {what} may do this.", code="not_allowed")


def _review_one(*, actor: Actor, event: Event, decision: str, reason: str) -> EventReview:
    _require_role(actor, event.bureau, ACTING_ROLES, "the responsible bureau's operators and managers")
    if event.status != Status.NEW:
        raise Conflict("This event has already been reviewed.", code="already_reviewed",
                       details={"event_id": str(event.pk), "status": event.status})
    if decision == EventReview.Decision.DISMISS and not reason.strip():
        raise ApplicationError("Give a reason for dismissing.", code="reason_required")
    review = EventReview.objects.create(
        event=event, scenario=event.scenario, bureau=event.bureau, decision=decision, reason=reason.strip()[:500],
        reviewer=actor.label, reviewed_by=actor.user,
    )
    event.status = Status.CONFIRMED if decision == EventReview.Decision.CONFIRM else Status.DISMISSED
    event.save(update_fields=["status", "updated_at"])
    audit_record(action="review", actor=actor.label, bureau=actor.bureau.slug, object_type="event",
                 object_id=event.pk, details={"decision": decision, "reason": review.reason,
                                              "scenario": event.scenario.slug})
    _announce(event.pk, "confirmed" if decision == EventReview.Decision.CONFIRM else "dismissed")
    return review


def _check_decision(decision: str) -> None:
    if decision not in EventReview.Decision.values:
        raise ApplicationError(f"decision must be one of {EventReview.Decision.values}.", code="invalid_decision")


def event_review(*, actor: Actor, event_id, decision: str, reason: str = "") -> EventReview:
    _check_decision(decision)
    with transaction.atomic():
        event = event_get(actor=actor, event_id=event_id, for_update=True)
        return _review_one(actor=actor, event=event, decision=decision, reason=reason)


def event_review_bulk(*, actor: Actor, event_ids: Iterable, decision: str, reason: str = "") -> list[EventReview]:
    """All or nothing: one event the actor may not review (or already reviewed) refuses the batch."""
    _check_decision(decision)
    ids = list(dict.fromkeys(event_ids))
    if not ids:
        raise ApplicationError("Choose at least one event.", code="no_events")
    with transaction.atomic():
        return [
            _review_one(actor=actor, event=event_get(actor=actor, event_id=event_id, for_update=True),
                        decision=decision, reason=reason)
            for event_id in ids
        ]


# --- work orders --------------------------------------------------------------------------------


def _transition(wo: WorkOrder, *, actor: Actor, to: str, note: str = "", change: str) -> None:
    from_status = "" if wo._state.adding else wo.status
    wo.status = to
    wo.save()
    WorkOrderTransition.objects.create(work_order=wo, from_status=from_status, to_status=to, actor=actor.label,
                                       bureau=actor.bureau, by=actor.user, note=note)
    audit_record(action="work_order", actor=actor.label, bureau=actor.bureau.slug if actor.bureau else "",
                 object_type="work_order", object_id=wo.pk,
                 details={"event": str(wo.event_id), "from": from_status, "to": to, "note": note[:500]})
    _announce(wo.event_id, change, wo.pk)


def work_order_dispatch(*, actor: Actor, event_id, assignee_slug: str = "", instructions: str = "") -> WorkOrder:
    """Dispatch a confirmed event to a bureau (by default the responsible bureau itself, which owns
    the scenario) with a due time from the scenario's SLA."""
    with transaction.atomic():
        event = event_get(actor=actor, event_id=event_id, for_update=True)
        _require_role(actor, event.bureau, ACTING_ROLES, "the responsible bureau's operators and managers")
        if event.status != Status.CONFIRMED:
            raise Conflict("Only a confirmed event without a work order can be dispatched.",
                           code="not_dispatchable", details={"status": event.status})
        assignee = event.bureau
        if assignee_slug:
            assignee = Bureau.objects.filter(slug=assignee_slug).first()
            if assignee is None:
                raise ApplicationError(f"No bureau {assignee_slug!r}.", code="unknown_bureau")
        now = timezone.now()
        wo = WorkOrder(event=event, assignee_bureau=assignee, dispatcher_bureau=event.bureau,
                       instructions=instructions.strip()[:1000], dispatched_at=now,
                       due_at=now + policy.sla_for(event.scenario, event.severity))
        try:
            with transaction.atomic():
                _transition(wo, actor=actor, to=WO.DISPATCHED, note=wo.instructions, change="dispatched")
        except IntegrityError:
            raise Conflict("This event already has a work order.", code="already_dispatched") from None
        event.status = Status.DISPATCHED
        event.save(update_fields=["status", "updated_at"])
        return wo


def _locked(actor: Actor, work_order_id) -> WorkOrder:
    return work_order_get(actor=actor, work_order_id=work_order_id, for_update=True)


def _expect(wo: WorkOrder, *statuses: str) -> None:
    if wo.status not in statuses:
        raise Conflict(f"The work order is {wo.status}; this step needs {' or '.join(statuses)}.",
                       code="invalid_transition", details={"status": wo.status})


def work_order_accept(*, actor: Actor, work_order_id, note: str = "") -> WorkOrder:
    with transaction.atomic():
        wo = _locked(actor, work_order_id)
        _require_role(actor, wo.assignee_bureau, ACTING_ROLES, "the assigned bureau's operators and managers")
        _expect(wo, WO.DISPATCHED)
        wo.accepted_at = timezone.now()
        _transition(wo, actor=actor, to=WO.ACCEPTED, note=note.strip(), change="accepted")
        return wo


def work_order_resolve(*, actor: Actor, work_order_id, note: str, photo: bytes | None = None,
                       photo_name: str = "") -> WorkOrder:
    """Resolve with evidence: a note, and a photo checked like any uploaded image."""
    from services.inference.inputs import check_image

    if not note.strip():
        raise ApplicationError("Describe what was done.", code="note_required")
    checked = check_image(photo, photo_name) if photo is not None else None
    with transaction.atomic():
        wo = _locked(actor, work_order_id)
        _require_role(actor, wo.assignee_bureau, ACTING_ROLES, "the assigned bureau's operators and managers")
        _expect(wo, WO.ACCEPTED)
        wo.resolution_note = note.strip()
        wo.resolved_at = timezone.now()
        if checked is not None:
            wo.resolution_photo.save(f"photo.{checked.extension}", ContentFile(checked.content), save=False)
        _transition(wo, actor=actor, to=WO.RESOLVED, note=wo.resolution_note, change="resolved")
        return wo


def work_order_verify(*, actor: Actor, work_order_id, note: str = "") -> WorkOrder:
    """A manager of the dispatching bureau checks the evidence and closes the case."""
    with transaction.atomic():
        wo = _locked(actor, work_order_id)
        _require_role(actor, wo.dispatcher_bureau, (Role.MANAGER,), "a manager of the dispatching bureau")
        _expect(wo, WO.RESOLVED)
        wo.closed_at = timezone.now()
        _transition(wo, actor=actor, to=WO.CLOSED, note=note.strip(), change="closed")
        Event.objects.filter(pk=wo.event_id).update(status=Status.CLOSED, updated_at=timezone.now())
        return wo


def work_order_send_back(*, actor: Actor, work_order_id, reason: str) -> WorkOrder:
    """The evidence does not convince: back to the assignee (accepted), with the reason."""
    if not reason.strip():
        raise ApplicationError("Say why it is sent back.", code="reason_required")
    with transaction.atomic():
        wo = _locked(actor, work_order_id)
        _require_role(actor, wo.dispatcher_bureau, (Role.MANAGER,), "a manager of the dispatching bureau")
        _expect(wo, WO.RESOLVED)
        wo.resolved_at = None
        _transition(wo, actor=actor, to=WO.ACCEPTED, note=reason.strip(), change="sent_back")
        return wo


def work_orders_mark_overdue(*, now=None) -> int:
    """Flag unresolved work orders past their due time (once each); returns how many were flagged."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            WorkOrder.objects.select_for_update(skip_locked=True)
            .filter(status__in=WorkOrder.UNRESOLVED, due_at__lt=now, overdue_since__isnull=True)
            .values_list("pk", "event_id")[:1000]
        )
        WorkOrder.objects.filter(pk__in=[pk for pk, _ in ids]).update(overdue_since=now)
        for pk, event_id in ids:
            _announce(event_id, "overdue", pk)
    if ids:
        logger.info("flagged %d overdue work orders", len(ids))
    return len(ids)


WORK_ORDER_STEPS = ("accept", "resolve", "verify", "send-back")


def work_order_step(*, actor: Actor, work_order_id, action: str, note: str = "", reason: str = "",
                    photo: bytes | None = None, photo_name: str = "") -> WorkOrder:
    """The step named in the URL (API and portal alike): accept, resolve (note and photo), verify or
    send-back (its reason, else the note)."""
    if action == "accept":
        return work_order_accept(actor=actor, work_order_id=work_order_id, note=note)
    if action == "resolve":
        return work_order_resolve(actor=actor, work_order_id=work_order_id, note=note, photo=photo,
                                  photo_name=photo_name)
    if action == "verify":
        return work_order_verify(actor=actor, work_order_id=work_order_id, note=note)
    if action == "send-back":
        return work_order_send_back(actor=actor, work_order_id=work_order_id, reason=reason or note)
    raise NotFound(f"No step {action!r}; one of {', '.join(WORK_ORDER_STEPS)}.", code="unknown_step")
