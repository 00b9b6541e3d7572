"""Hearing inference's ``requests_finished`` in a test, as the worker announces it after its commit."""

from services.inference.models import InferenceRequest
from services.inference.signals import requests_finished


def finished_heard(*request_ids) -> None:
    """Send ``requests_finished`` for these requests, read as they are now (finished or not)."""
    rows = [InferenceRequest.objects.select_related("scenario", "bureau").get(pk=pk) for pk in request_ids]
    requests_finished.send(sender=InferenceRequest, requests=rows)
