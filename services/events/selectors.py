"""Reads of the events app, all through the accounts scoping rule.

An event is visible to two bureaus: the responsible one and the one that submitted the input; a
work order to the assignee and the dispatching bureau. ``scope_to_actor`` filters on one field, so
the scope here is the union of two applications of it; auditors and admins still see everything.
"""

from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import Now

from services.accounts.selectors import Actor, scope_to_actor
from services.core.errors import NotFound
from services.core.filters import filter_given
from services.events.models import Event, EventOccurrence, EventReroute, EventReview, WorkOrder


def event_scope(actor: Actor) -> QuerySet[Event]:
    base = Event.objects.all()
    return scope_to_actor(base, actor, bureau_field="bureau") | scope_to_actor(
        base, actor, bureau_field="source_bureau"
    )


# ``status=open`` in a list filter: every status that still needs someone (see ``Event.OPEN``).
OPEN_STATUS = "open"


def event_list(*, actor: Actor, status: str = "", scenario_slug: str = "", to_review: bool = False,
               bureau_slug: str = "", domain_slug: str = "", severity: str = "", decision: str = "",
               since=None, until=None) -> QuerySet[Event]:
    """``to_review``: only the events this actor's bureau must decide on. The other filters narrow
    the scope, never widen it: ``bureau_slug`` is the responsible bureau, ``decision`` the review's
    outcome (confirm or dismiss), ``since``/``until`` bound when the event was last seen."""
    qs = event_scope(actor).select_related(
        "scenario", "bureau", "source_bureau", "first_request", "last_request", "review", "work_order__assignee_bureau",
        "work_order__dispatcher_bureau",
    ).prefetch_related("occurrences", "work_order__transitions")
    if to_review:
        qs = qs.filter(bureau=actor.bureau, status=Event.Status.NEW)
    if status == OPEN_STATUS:
        qs = qs.filter(status__in=Event.OPEN)
    else:
        qs = filter_given(qs, status=status)
    qs = filter_given(
        qs, scenario__slug=scenario_slug, bureau__slug=bureau_slug, scenario__domain__slug=domain_slug,
        severity=severity, review__decision=decision, last_seen_at__gte=since, last_seen_at__lt=until,
    )
    return qs.order_by("-last_seen_at")


def event_is_visible(*, actor: Actor, event_id) -> bool:
    """Whether the actor still sees the event (a re-route may hand it to another bureau)."""
    return event_scope(actor).filter(pk=event_id).exists()


def _get_in_scope(scope: QuerySet, rows: QuerySet, pk, *, for_update: bool):
    """One row of a two-field scope: the scope (a union, which cannot be locked) gives the id, ``rows``
    the row, locked when asked; outside the scope is a 404 like no row at all."""
    if for_update:
        rows = rows.select_for_update(of=("self",))
    row = rows.filter(pk__in=scope.filter(pk=pk).values("pk")).first()
    if row is None:
        raise NotFound()
    return row


def event_get(*, actor: Actor, event_id, for_update: bool = False) -> Event:
    rows = Event.objects.select_related("scenario__domain", "bureau", "source_bureau", "first_request",
                                        "last_request")
    return _get_in_scope(event_scope(actor), rows, event_id, for_update=for_update)


def with_overdue(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    """``overdue``: not resolved by the due time, computed by the database at query time."""
    return qs.annotate(
        overdue=Case(
            When(status__in=WorkOrder.UNRESOLVED, due_at__lt=Now(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def work_order_scope(actor: Actor) -> QuerySet[WorkOrder]:
    base = WorkOrder.objects.all()
    return scope_to_actor(base, actor, bureau_field="assignee_bureau") | scope_to_actor(
        base, actor, bureau_field="dispatcher_bureau"
    )


def work_order_list(*, actor: Actor, status: str = "", overdue: bool | None = None,
                    assignee_slug: str = "") -> QuerySet[WorkOrder]:
    qs = with_overdue(work_order_scope(actor)).select_related(
        "event__scenario", "assignee_bureau", "dispatcher_bureau"
    )
    qs = filter_given(qs, status=status, overdue=overdue, assignee_bureau__slug=assignee_slug)
    return qs.order_by("due_at")


def work_order_get(*, actor: Actor, work_order_id, for_update: bool = False) -> WorkOrder:
    rows = WorkOrder.objects.select_related("event__scenario", "assignee_bureau", "dispatcher_bureau")
    return _get_in_scope(work_order_scope(actor), rows, work_order_id, for_update=for_update)


def event_snapshot(event: Event):
    """The annotated image of the latest firing (else the first): evidence the responsible bureau may
    see even though the request itself belongs to the submitting bureau."""
    for request in (event.last_request, event.first_request):
        if request.annotated_image:
            return request.annotated_image
    raise NotFound("This event has no snapshot.", code="no_snapshot")


def event_review_get(event: Event) -> EventReview | None:
    """The event's review, if it has one. The event comes from ``event_get`` (already in scope), as
    for the other readers of one event's parts below."""
    return EventReview.objects.filter(event=event).first()


def event_work_order(event: Event) -> WorkOrder | None:
    return with_overdue(WorkOrder.objects.filter(event=event)).select_related(
        "assignee_bureau", "dispatcher_bureau").first()


def event_occurrence_list(event: Event) -> QuerySet[EventOccurrence]:
    return event.occurrences.order_by("seen_at")


def event_reroute_list(event: Event) -> QuerySet[EventReroute]:
    return EventReroute.objects.filter(event=event).select_related("from_bureau", "to_bureau")


def event_history(event: Event) -> list[dict]:
    """Everything that happened to an event, oldest first: firings, the review, work-order steps."""
    rows = [{"at": o.seen_at, "kind": "occurrence", "actor": "", "from": "", "to": "", "note": o.request.result.get(
        "summary", "") if o.request.result else "", "request_id": o.request_id}
        for o in event.occurrences.select_related("request")]
    review = event_review_get(event)
    if review is not None:
        rows.append({"at": review.reviewed_at, "kind": "review", "actor": review.reviewer, "from": "new",
                     "to": review.decision, "note": review.reason})
    wo = WorkOrder.objects.filter(event=event).first()
    if wo is not None:
        rows += [{"at": t.at, "kind": "work_order", "actor": t.actor, "from": t.from_status, "to": t.to_status,
                  "note": t.note} for t in wo.transitions.all()]
    labels = {**dict(WorkOrder.Status.choices), **dict(EventReview.Decision.choices), "new": Event.Status.NEW.label}
    for row in rows:
        row["from_label"], row["to_label"] = labels.get(row["from"], row["from"]), labels.get(row["to"], row["to"])
    return sorted(rows, key=lambda r: r["at"])


@dataclass(frozen=True)
class Precision:
    confirmed: int
    dismissed: int

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def value(self) -> float | None:
        return self.confirmed / self.reviewed if self.reviewed else None


def scenario_precision(*, scenario_ids=None, since=None, until=None) -> dict[int, Precision]:
    """Measured precision per scenario: confirmed ÷ (confirmed + dismissed), from review rows.

    Precision of the rule across the whole platform, so not scoped to a bureau: it describes the
    scenario, not anyone's events, and the counts reveal no event."""
    return _review_counts(filter_given(EventReview.objects.all(), scenario_id__in=scenario_ids,
                                       reviewed_at__gte=since, reviewed_at__lt=until))


def _review_counts(reviews: QuerySet[EventReview]) -> dict[int, Precision]:
    rows = reviews.values("scenario_id").annotate(
        confirmed=Count("pk", filter=Q(decision=EventReview.Decision.CONFIRM)),
        dismissed=Count("pk", filter=Q(decision=EventReview.Decision.DISMISS)),
    )
    return {r["scenario_id"]: Precision(r["confirmed"], r["dismissed"]) for r in rows}


def precision_for(scenario) -> Precision:
    return scenario_precision(scenario_ids=[scenario.pk]).get(scenario.pk, Precision(0, 0))


@dataclass(frozen=True, kw_only=True)
class ScenarioOutcome(Precision):
    """What happened to one scenario's events in a period: precision from reviews, and how fast
    work orders were resolved (hours from dispatch to resolution)."""

    scenario_id: int
    work_orders: int
    resolved: int
    closed: int
    overdue: int
    mean_response_h: float | None
    median_response_h: float | None

    @property
    def precision(self) -> float | None:
        return self.value


def event_outcomes(*, since, until, bureau=None, scenario_ids=None) -> list[ScenarioOutcome]:
    """Per scenario, for reports: reviews made in [since, until) and work orders dispatched then.
    ``bureau``: only events that bureau was responsible for (its reviews, its dispatches)."""
    reviews = EventReview.objects.filter(reviewed_at__gte=since, reviewed_at__lt=until)
    orders = WorkOrder.objects.filter(dispatched_at__gte=since, dispatched_at__lt=until)
    if bureau is not None:
        reviews, orders = reviews.filter(bureau=bureau), orders.filter(dispatcher_bureau=bureau)
    if scenario_ids is not None:
        reviews = reviews.filter(scenario_id__in=scenario_ids)
        orders = orders.filter(event__scenario_id__in=scenario_ids)
    counts = _review_counts(reviews)
    per_scenario: dict[int, list] = {}
    for row in orders.values("event__scenario_id", "status", "dispatched_at", "resolved_at", "due_at",
                             "overdue_since"):
        per_scenario.setdefault(row["event__scenario_id"], []).append(row)
    out = []
    for scenario_id in sorted(set(counts) | set(per_scenario)):
        rows = per_scenario.get(scenario_id, [])
        hours = sorted((r["resolved_at"] - r["dispatched_at"]).total_seconds() / 3600
                       for r in rows if r["resolved_at"] is not None)
        review = counts.get(scenario_id, Precision(0, 0))
        out.append(ScenarioOutcome(
            scenario_id=scenario_id, confirmed=review.confirmed, dismissed=review.dismissed,
            work_orders=len(rows), resolved=len(hours),
            closed=sum(1 for r in rows if r["status"] == WorkOrder.Status.CLOSED),
            overdue=sum(1 for r in rows if r["overdue_since"] is not None or (
                r["resolved_at"] is not None and r["resolved_at"] > r["due_at"])),
            mean_response_h=sum(hours) / len(hours) if hours else None,
            median_response_h=(hours[len(hours) // 2] if len(hours) % 2 else
                               (hours[len(hours) // 2 - 1] + hours[len(hours) // 2]) / 2) if hours else None,
        ))
    return out
