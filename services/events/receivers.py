"""Events subscribe to inference's ``request_finished`` (sent after the finishing commit)."""

import logging

from django.dispatch import receiver

from services.events.services import event_record_from_request
from services.inference.signals import request_finished

logger = logging.getLogger(__name__)


@receiver(request_finished, dispatch_uid="events_record_request")
def _record(sender, request_id, request=None, **kwargs) -> None:
    # The request is finished and committed; a failure here must not reach the worker as an error.
    try:
        event_record_from_request(request_id=request_id, request=request)
    except Exception:
        logger.exception("recording an event for request %s failed", request_id)
