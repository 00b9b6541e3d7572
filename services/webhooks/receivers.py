"""Webhooks subscribe to inference's ``request_finished`` (sent after the finishing commit)."""

import logging

from django.dispatch import receiver
from django.urls import reverse

from services.inference.models import InferenceRequest
from services.inference.signals import request_finished
from services.webhooks.services import webhook_event_emit

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


@receiver(request_finished, dispatch_uid="webhooks_request_finished")
def _request_finished(sender, request_id, **kwargs) -> None:
    request = InferenceRequest.objects.select_related("scenario").filter(pk=request_id).first()
    if request is None or request.api_client_id is None:
        return
    webhook_event_emit(api_client_id=request.api_client_id, event="request.finished", object_id=request.pk,
                       data=request_finished_data(request))
