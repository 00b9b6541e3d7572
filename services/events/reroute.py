"""Re-routing a 12345 complaint: a dispatcher sends a routed complaint's event to the bureau that
should handle it, with a reason, and the router learns from it.

Why here and not in the catalog: the correction starts from an event (who may act, which request's
text), and the catalog only receives the result — a new exemplar (``routing_exemplar_add``), audited
there, which announces ``routing_data_changed`` so the next training uses it (DESIGN 7b: review
outcomes become exemplars after audit).

Who may: operators and managers of the event's responsible bureau ("not ours") or of the bureau
that submitted the complaint (the 12345 centre's dispatchers), while the event awaits review; once
reviewed or dispatched, the bureau that holds it finishes it.
"""

from django.db import transaction

from services.accounts.models import Bureau
from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.services import audit_record
from services.catalog.exemplars import routing_exemplar_add
from services.catalog.models import RoutingExemplar, RoutingTarget, Scenario
from services.core.errors import ApplicationError, Conflict, PermissionDenied
from services.events.models import Event, EventReroute
from services.events.selectors import event_get
from services.events.services import ACTING_ROLES, _announce

MIN_REASON_CHARS = 2


def reroute_targets(event: Event) -> list[RoutingTarget]:
    """The bureaus the event's complaint may be re-routed to (the routing scenario's enabled targets
    other than the current one), for forms and checks."""
    scenario = _exemplar_scenario(event)
    if scenario is None:
        return []
    return list(RoutingTarget.objects.filter(scenario=scenario, enabled=True).exclude(bureau=event.bureau)
                .select_related("bureau").order_by("domain", "bureau__slug"))


def _exemplar_scenario(event: Event) -> Scenario | None:
    if event.scenario.pipeline != "text_routing":
        return None
    slug = (event.first_request.params or {}).get("exemplar_scenario") or event.scenario.slug
    return Scenario.objects.filter(slug=slug, pipeline="text_routing").first()


def can_reroute(actor: Actor, event: Event) -> bool:
    return (actor.bureau is not None and actor.role in ACTING_ROLES
            and actor.bureau.pk in (event.bureau_id, event.source_bureau_id)
            and event.status == Event.Status.NEW and event.scenario.pipeline == "text_routing")


def event_reroute(*, actor: Actor, event_id, bureau_slug: str, reason: str) -> EventReroute:
    """Give the event to ``bureau_slug``, record why, and teach the router: the complaint becomes an
    exemplar of that bureau. All in one transaction, audited; announced as ``rerouted``."""
    reason = (reason or "").strip()
    with transaction.atomic():
        event = event_get(actor=actor, event_id=event_id, for_update=True)
        if actor.bureau is None or actor.role not in ACTING_ROLES \
                or actor.bureau.pk not in (event.bureau_id, event.source_bureau_id):
            raise PermissionDenied("Only operators and managers of the responsible or the submitting bureau "
                                   "may re-route a complaint.", code="not_allowed")
        scenario = _exemplar_scenario(event)
        if scenario is None:
            raise Conflict("Only routed complaints can be re-routed.", code="not_routable",
                           details={"scenario": event.scenario.slug})
        if event.status != Event.Status.NEW:
            raise Conflict("Only a complaint awaiting review can be re-routed.", code="not_reroutable",
                           details={"status": event.status})
        if len(reason) < MIN_REASON_CHARS:
            raise ApplicationError("Say why the complaint goes to another bureau.", code="reason_required")
        target = Bureau.objects.filter(slug=bureau_slug).first()
        if target is None or not RoutingTarget.objects.filter(scenario=scenario, bureau=target, enabled=True).exists():
            raise ApplicationError("Choose a bureau that complaints are routed to.", code="unknown_bureau",
                                   details={"bureau": bureau_slug})
        if target.pk == event.bureau_id:
            raise ApplicationError("The complaint is already with that bureau.", code="same_bureau")
        text = event.first_request.input_data
        if not isinstance(text, str) or not text.strip():
            raise Conflict("The complaint's text is no longer stored.", code="no_text")
        previous = event.bureau
        exemplar, _ = routing_exemplar_add(
            scenario=scenario, bureau=target, text=text, origin=RoutingExemplar.Origin.REROUTE,
            added_by=actor.bureau, by=actor.label, note=reason, source_request=event.first_request_id,
        )
        event.bureau = target
        event.save(update_fields=["bureau", "updated_at"])
        row = EventReroute.objects.create(
            event=event, from_bureau=previous, to_bureau=target, reason=reason[:500], actor=actor.label,
            actor_bureau=actor.bureau, by=actor.user, exemplar=exemplar,
        )
        audit_record(
            action=AuditEntry.Action.REVIEW, actor=actor.label, bureau=actor.bureau.slug, object_type="event",
            object_id=event.pk,
            details={"decision": "reroute", "from": previous.slug, "to": target.slug, "reason": reason[:500],
                     "exemplar": exemplar.pk, "routed": (event.first_request.result or {}).get("bureau")},
        )
        _announce(event.pk, "rerouted")
    return row
