"""Metering subscribes to inference's ``requests_finished`` (sent after the finishing commit)."""

import logging

from django.dispatch import receiver

from services.inference.signals import requests_finished
from services.reports.services import usage_meter_requests

logger = logging.getLogger(__name__)


@receiver(requests_finished, dispatch_uid="reports_meter_requests")
def _meter(sender, requests, **kwargs) -> None:
    # The requests are already finished and committed: a metering failure must not reach the worker
    # as an error. The catch-up task (usage_meter_missed) counts them later.
    try:
        usage_meter_requests(requests=requests)
    except Exception:  # logged; the catch-up task repairs it
        logger.exception("metering %d requests failed; the catch-up task will count them", len(requests))
