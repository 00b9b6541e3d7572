"""Reads of inference requests, always through the bureau scope."""

import time

from django.db.models import QuerySet

from services.accounts.selectors import Actor, get_scoped_or_404, scope_to_actor
from services.inference.models import InferenceRequest


def inference_request_list(*, actor: Actor, scenario: str | None = None, status: str | None = None) -> QuerySet:
    qs = scope_to_actor(InferenceRequest.objects.select_related("scenario", "bureau"), actor)
    if scenario:
        qs = qs.filter(scenario__slug=scenario)
    if status:
        qs = qs.filter(status=status)
    return qs


def inference_request_get(*, actor: Actor, request_id) -> InferenceRequest:
    return get_scoped_or_404(InferenceRequest.objects.select_related("scenario", "bureau"), actor, pk=request_id)


def inference_request_wait(*, request: InferenceRequest, seconds: float) -> InferenceRequest:
    """Wait up to ``seconds`` for a request to finish by polling its row."""
    deadline = time.monotonic() + seconds
    delay = 0.02
    while not request.is_terminal and time.monotonic() < deadline:
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.25)
        request.refresh_from_db()
    return request
