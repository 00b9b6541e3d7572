"""Portal pages of events: the review queue (with bulk review), an event's page with its evidence,
review, work order and history, and the work-order board. Forms post here and redirect back; a
refused step becomes a message on the page, another bureau's event a 404."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from services.accounts.portal import portal_view
from services.accounts.selectors import bureau_filter_choices, bureau_find
from services.catalog.selectors import domain_list, scenario_list
from services.core.errors import ApplicationError, NotFound
from services.core.fields import read_upload
from services.core.filters import local_day
from services.core.pagination import CappedPaginator
from services.events import selectors, services
from services.events.models import Event, EventReview, WorkOrder
from services.events.reroute import can_reroute, event_reroute, reroute_targets
from services.events.services import ACTING_ROLES
from services.inference.access import inference_request_check_raw_input

Role = services.Role


def _run(request, fn, success: str) -> bool:
    """Run a service from a form; its refusal (not a 404) becomes an error message."""
    try:
        fn()
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def _back(request, default: str):
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else default)


# The list's filters (query parameters), each of which narrows the caller's scope; the situation view
# (/ops/) links every number to this list with them filled in.
LIST_FILTERS = ("status", "scenario", "bureau", "domain", "severity", "decision", "day")


@portal_view()
def review_queue(request, actor):
    view = request.GET.get("view", "review" if actor.bureau else "all")
    filters = {name: request.GET.get(name, "").strip()[:100] for name in LIST_FILTERS}
    bounds = local_day(filters["day"]) if filters["day"] else None
    if filters["day"] and bounds is None:
        filters["day"] = ""
    qs = selectors.event_list(
        actor=actor, to_review=view == "review" and actor.bureau is not None, status=filters["status"],
        scenario_slug=filters["scenario"], bureau_slug=filters["bureau"], domain_slug=filters["domain"],
        severity=filters["severity"], decision=filters["decision"],
        since=bounds[0] if bounds else None, until=bounds[1] if bounds else None,
    )
    page = CappedPaginator(qs, 50).get_page(request.GET.get("page"))
    can_review = actor.bureau is not None and actor.role in ACTING_ROLES
    query = urlencode({"view": view, **{k: v for k, v in filters.items() if v}})
    return render(request, "events/queue.html", {
        "page": page, "view": view, "status": filters["status"], "filters": filters, "query": query,
        "filtered": any(filters.values()),
        "statuses": [(selectors.OPEN_STATUS, _("Open (not yet closed)")), *Event.Status.choices],
        "severities": Event.Severity.choices, "decisions": EventReview.Decision.choices,
        "domains": domain_list(), "scenarios": scenario_list(), "bureaus": bureau_filter_choices(actor=actor),
        "can_review": can_review,
    })


@portal_view()
def review_fast(request, actor):
    """The review queue at the speed of a queue: each event's evidence on one card (the annotated
    frame, or the text of a complaint), confirmed or dismissed from the keyboard; the page moves on
    to the next card by itself (static/js/review.js), as Frigate's review screen does."""
    can_review = actor.bureau is not None and actor.role in ACTING_ROLES
    events = list(selectors.event_list(actor=actor, to_review=True)[:REVIEW_BATCH]) if can_review else []
    cards = [{
        "event": event,
        "has_snapshot": actor.sees_raw_inputs and bool(event.last_request.annotated_image
                                                      or event.first_request.annotated_image),
        "excerpt": event.excerpt if actor.sees_raw_inputs else "",
    } for event in events]
    return render(request, "events/review.html", {"cards": cards, "can_review": can_review,
                                                  "batch": REVIEW_BATCH})


# Cards on one page of the fast review; the page offers the next batch when these are done.
REVIEW_BATCH = 100


@portal_view()
@require_POST
def review_bulk(request, actor):
    ids = request.POST.getlist("event")
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")
    _run(request, lambda: services.event_review_bulk(actor=actor, event_ids=ids, decision=decision, reason=reason),
         _("%(count)d events reviewed.") % {"count": len(ids)})
    return redirect("events:queue")


@portal_view()
def event_detail(request, actor, event_id):
    event = selectors.event_get(actor=actor, event_id=event_id)
    wo = selectors.event_work_order(event)
    in_bureau = actor.bureau is not None
    acts = in_bureau and actor.role in ACTING_ROLES
    steps = []
    if wo is not None:
        if acts and wo.assignee_bureau_id == actor.bureau.pk:
            steps += {WorkOrder.Status.DISPATCHED: ["accept"],
                      WorkOrder.Status.ACCEPTED: ["resolve"]}.get(wo.status, [])
        if in_bureau and actor.role == Role.MANAGER and wo.dispatcher_bureau_id == actor.bureau.pk \
                and wo.status == WorkOrder.Status.RESOLVED:
            steps += ["verify", "send-back"]
    return render(request, "events/detail.html", {
        "event": event,
        "review": selectors.event_review_get(event),
        "work_order": wo,
        "history": selectors.event_history(event),
        "occurrences": selectors.event_occurrence_list(event),
        "can_review": acts and event.bureau_id == actor.bureau.pk and event.status == Event.Status.NEW,
        "can_dispatch": acts and event.bureau_id == actor.bureau.pk and event.status == Event.Status.CONFIRMED,
        "steps": steps,
        "has_snapshot": actor.sees_raw_inputs and bool(event.last_request.annotated_image
                                                      or event.first_request.annotated_image),
        "show_excerpt": actor.sees_raw_inputs,
        **_reroute_context(actor, event),
    })


def _reroute_context(actor, event) -> dict:
    """The re-route form (bureaus to choose from) and the event's earlier re-routes."""
    if event.scenario.pipeline != "text_routing":
        return {}
    return {
        "reroute_targets": reroute_targets(event) if can_reroute(actor, event) else [],
        "reroutes": selectors.event_reroute_list(event),
    }


@portal_view()
def event_snapshot(request, actor, event_id):
    event = selectors.event_get(actor=actor, event_id=event_id)
    inference_request_check_raw_input(actor=actor)
    try:
        snapshot = selectors.event_snapshot(event)
    except NotFound:
        raise Http404 from None
    return FileResponse(snapshot.open("rb"), content_type="image/jpeg")


@portal_view()
@require_POST
def event_review_view(request, actor, event_id):
    decision = request.POST.get("decision", "")
    _run(request, lambda: services.event_review(actor=actor, event_id=event_id, decision=decision,
                                                reason=request.POST.get("reason", "")),
         _("Event confirmed.") if decision == EventReview.Decision.CONFIRM else _("Event dismissed."))
    return _back(request, reverse("events:detail", args=[event_id]))


@portal_view()
@require_POST
def event_dispatch_view(request, actor, event_id):
    _run(request, lambda: services.work_order_dispatch(
        actor=actor, event_id=event_id, assignee_slug=request.POST.get("assignee", ""),
        instructions=request.POST.get("instructions", "")), _("Work order dispatched."))
    return redirect("events:detail", event_id=event_id)


@portal_view()
@require_POST
def event_reroute_view(request, actor, event_id):
    done = _run(request, lambda: event_reroute(
        actor=actor, event_id=event_id, bureau_slug=request.POST.get("bureau", ""),
        reason=request.POST.get("reason", "")), _("Complaint re-routed; the router learns from it."))
    if done and not selectors.event_is_visible(actor=actor, event_id=event_id):
        return redirect("events:queue")  # handed away: this bureau no longer sees it
    return redirect("events:detail", event_id=event_id)


STEP_DONE = {
    "accept": gettext_lazy("Work order accepted."),
    "resolve": gettext_lazy("Work order resolved; waiting for verification."),
    "verify": gettext_lazy("Verified and closed."),
    "send-back": gettext_lazy("Sent back to the assigned bureau."),
}


@portal_view()
@require_POST
def work_order_step(request, actor, work_order_id, action):
    if action not in STEP_DONE:
        raise Http404
    wo = selectors.work_order_get(actor=actor, work_order_id=work_order_id)

    def step():
        photo = read_upload(request.FILES["photo"]) if action == "resolve" and "photo" in request.FILES else None
        return services.work_order_step(actor=actor, work_order_id=work_order_id, action=action,
                                        note=request.POST.get("note", ""), reason=request.POST.get("reason", ""),
                                        photo=photo.content if photo else None, photo_name=photo.name if photo else "")

    _run(request, step, str(STEP_DONE[action]))
    return _back(request, reverse("events:detail", args=[wo.event_id]))


@portal_view()
def work_order_photo(request, actor, work_order_id):
    wo = selectors.work_order_get(actor=actor, work_order_id=work_order_id)
    if not wo.resolution_photo:
        raise Http404
    return FileResponse(wo.resolution_photo.open("rb"))


@portal_view()
def work_order_board(request, actor):
    """``?overdue=1`` shows only overdue work orders, ``?bureau=<slug>`` those assigned to a bureau
    (both narrow the caller's scope; the situation view links here with them)."""
    only_overdue = request.GET.get("overdue") == "1"
    bureau = request.GET.get("bureau", "").strip()[:100]
    orders = list(selectors.work_order_list(actor=actor, overdue=True if only_overdue else None,
                                            assignee_slug=bureau)[:400])
    columns = [
        {"status": value, "label": label, "orders": [wo for wo in orders if wo.status == value]}
        for value, label in WorkOrder.Status.choices
    ]
    return render(request, "events/board.html", {
        "columns": columns, "overdue": sum(1 for wo in orders if wo.overdue),
        "only_overdue": only_overdue, "bureau": bureau_find(slug=bureau),
        "filtered": only_overdue or bool(bureau),
    })


def _precision_panel(actor, scenario) -> dict:
    return {"template": "events/_precision.html", "precision": selectors.precision_for(scenario)}


def register_scenario_panel() -> None:
    """Put measured precision on the catalog's scenario page (called from ``EventsConfig.ready``)."""
    from services.catalog.views import SCENARIO_PANELS

    if _precision_panel not in SCENARIO_PANELS:
        SCENARIO_PANELS.append(_precision_panel)
