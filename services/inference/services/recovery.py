"""Putting back to work what a lost worker or a lost message left behind."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from services.inference.models import InferenceRequest
from services.inference.services.enqueue import enqueue_drain

logger = logging.getLogger(__name__)
Status = InferenceRequest.Status


def inference_requests_requeue_stale(*, now=None) -> int:
    """Requeue stale work and announce it; returns how many rows.

    A RUNNING row whose lease ran out lost its worker; a QUEUED row long past its due time lost
    its message (broker restarted empty, or enqueueing failed). A duplicate announcement is harmless:
    the claim lets only one worker through.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    stale = InferenceRequest.objects.filter(
        Q(status=Status.RUNNING, lease_expires_at__lt=now)
        | Q(status=Status.QUEUED, next_attempt_at__lt=now - grace)
    ).only("id", "scenario_id", "tier")[:1000]
    count = 0
    groups = set()
    for request in stale:
        touched = InferenceRequest.objects.filter(pk=request.pk).filter(
            Q(status=Status.RUNNING, lease_expires_at__lt=now) | Q(status=Status.QUEUED)
        ).update(status=Status.QUEUED, claim_token=None, lease_expires_at=None, next_attempt_at=now)
        if touched:
            groups.add((request.scenario_id, request.tier))
            count += 1
    for scenario_id, tier in groups:
        enqueue_drain(scenario_id=scenario_id, tier=tier)
    if count:
        logger.info("requeued %d stale requests", count)
    return count

