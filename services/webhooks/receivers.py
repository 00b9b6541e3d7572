"""Webhooks subscribe to inference's ``requests_finished`` and events' ``event_changed`` (both sent after
the commit); neither app imports this one."""

import logging
import secrets

from django.dispatch import receiver
from django.urls import reverse

from services.core import configcache
from services.events.models import Event
from services.events.signals import CHANGES, event_changed
from services.inference.models import InferenceRequest
from services.inference.signals import requests_finished
from services.webhooks.models import Webhook
from services.webhooks.services import webhook_event_emit, webhook_event_register

logger = logging.getLogger(__name__)


def request_finished_data(request: InferenceRequest) -> dict:
    """What the caller hears: the outcome and where to read it, never the input."""
    failed = request.status == InferenceRequest.Status.FAILED
    return {
        "request_id": str(request.pk),
        "url": reverse("api-request-detail", args=[request.pk]),
        "scenario": request.scenario.slug,
        "source": request.source,
        "status": request.status,
        "tier": request.tier,
        "alert": request.alert,
        "created_at": request.created_at.isoformat(),
        "finished_at": request.finished_at.isoformat() if request.finished_at else None,
        "summary": (request.result or {}).get("summary"),
        "error": {"code": request.error_code, "message": request.error_message} if failed else None,
    }


def _clients_with_webhooks() -> frozenset:
    """Ids of the API clients with an active webhook; most clients have none, and most finished
    requests then need no query at all."""
    return configcache.cached("webhook-clients", lambda: frozenset(
        Webhook.objects.filter(revoked_at__isnull=True).values_list("api_client_id", flat=True)
    ))


@receiver(requests_finished, dispatch_uid="webhooks_requests_finished")
def _requests_finished(sender, requests, **kwargs) -> None:
    clients = _clients_with_webhooks()
    for request in requests:
        if request.api_client_id is None or request.api_client_id not in clients:
            continue
        webhook_event_emit(api_client_id=request.api_client_id, event="request.finished", object_id=request.pk,
                           data=request_finished_data(request))


for _change in CHANGES:
    webhook_event_register(f"event.{_change}", f"An event raised by one of the client's requests was {_change}.")


@receiver(event_changed, dispatch_uid="webhooks_event_changed")
def _event_changed(sender, event_id, change, work_order_id=None, api_client_id=..., **kwargs) -> None:
    """Tell the department whose request raised the event how it goes on (reviewed, dispatched …)."""
    # Most events come from clients without webhooks: find that out (from the cache, and from the
    # sender when it knows the client) before loading the event for a payload nobody would receive.
    clients = _clients_with_webhooks()
    if not clients:
        return
    client_id = api_client_id
    if client_id is ...:
        client_id = Event.objects.filter(pk=event_id).values_list("first_request__api_client_id", flat=True).first()
    if client_id is None or client_id not in clients:
        return
    event = Event.objects.select_related("scenario", "bureau").filter(pk=event_id).first()
    if event is None:
        return
    # An event changes the same way more than once (merged again, sent back and resolved again):
    # each change is its own delivery.
    webhook_event_emit(
        api_client_id=client_id, event=f"event.{change}",
        object_id=f"{event.pk}:{secrets.token_hex(8)}",
        data={
            "event_id": str(event.pk),
            "change": change,
            "status": event.status,
            "scenario": event.scenario.slug,
            "responsible_bureau": event.bureau.slug,
            "source": event.source,
            "severity": event.severity,
            "occurrences": event.occurrence_count,
            "first_request_id": str(event.first_request_id),
            "last_request_id": str(event.last_request_id),
            "work_order_id": str(work_order_id) if work_order_id else None,
        },
    )
