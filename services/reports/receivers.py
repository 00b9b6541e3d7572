"""Metering subscribes to inference's ``request_finished`` (sent after the finishing commit)."""

import logging

from django.dispatch import receiver

from services.inference.signals import request_finished
from services.reports.services import usage_meter_request

logger = logging.getLogger(__name__)


@receiver(request_finished, dispatch_uid="reports_meter_request")
def _meter(sender, request_id, request=None, **kwargs) -> None:
    # The request is already finished and committed: a metering failure must not reach the worker
    # as an error. The catch-up task (usage_meter_missed) counts it later.
    try:
        usage_meter_request(request_id=request_id, request=request)
    except Exception:  # logged; the catch-up task repairs it
        logger.exception("metering request %s failed; the catch-up task will count it", request_id)
