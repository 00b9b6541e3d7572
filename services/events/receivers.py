"""Events subscribe to inference's ``requests_finished`` (sent after the finishing commit)."""

import logging

from django.dispatch import receiver

from services.events.services import event_record_from_requests
from services.inference.signals import requests_finished

logger = logging.getLogger(__name__)


@receiver(requests_finished, dispatch_uid="events_record_requests")
def _record(sender, requests, **kwargs) -> None:
    # The requests are finished and committed; a failure here must not reach the worker as an error.
    try:
        event_record_from_requests(requests=requests)
    except Exception:
        logger.exception("recording events for %d requests failed", len(requests))
