"""Putting accepted work on the queues, by task name (services never import tasks).

Work is announced per scenario and tier, not per request: a *drain* message tells a worker "rows of
this scenario are due in this tier", and the worker claims up to ``CITYAI_WORKER_BATCH_SIZE`` of them
in one statement, runs them, and claims again until nothing is due. While a drain is on its way or
at work (a Redis key, set with NX by the submit that publishes it), further submits of the same
scenario and tier publish nothing: the drain will find their rows. When a drain finds nothing, it
deletes the key and claims once more; every submit commits its row *before* it looks at the key, so
a row is either seen by that last claim or announced by its own submit. A drain that claimed a full
batch asks for a second drain to help. So under load one message and a few statements serve many
requests; at a trickle each request still gets its own message at once. A lost message costs
nothing but time: the reaper re-announces rows that stayed queued past their due time.
"""

import logging

import redis
from celery import current_app
from django.conf import settings

from services.core.redis import get_redis

logger = logging.getLogger(__name__)

DRAIN_TASK = "services.inference.tasks.drain_requests"


def pending_key(scenario_id, tier: str) -> str:
    return f"cityai:drain-pending:{scenario_id}:{tier}"


def enqueue_drain(*, scenario_id, tier: str, countdown: float = 0, force: bool = False) -> None:
    """Make sure a worker will drain the due rows of (scenario, tier): publish a drain message unless
    one is already on its way or running. A delayed drain (a retry's backoff) and a forced one (a
    running drain asking for help, or handing over) are always published."""
    key = pending_key(scenario_id, tier)
    if not countdown and not force:
        try:
            if not get_redis().set(key, b"1", nx=True, px=settings.CITYAI_DRAIN_PENDING_MS):
                return
        except redis.RedisError:
            pass  # without the marker every submit publishes: more messages, nothing lost
    try:
        current_app.send_task(DRAIN_TASK, args=[scenario_id, tier], queue=tier, countdown=countdown or None)
    except Exception:
        # The rows are committed, so the work is not lost: the reaper announces them again.
        logger.exception("could not enqueue a drain of scenario %s (%s); the reaper will retry", scenario_id, tier)
        try:
            get_redis().delete(key)
        except redis.RedisError:
            pass


def drain_idle(*, scenario_id, tier: str) -> None:
    """A drain found nothing due: submits from now on must announce themselves again. The drain
    claims once more after this, so a row committed just before it is not left behind."""
    try:
        get_redis().delete(pending_key(scenario_id, tier))
    except redis.RedisError:
        pass


def drain_busy(*, scenario_id, tier: str) -> None:
    """A drain is (again) at work: submits need not announce themselves while it lasts."""
    try:
        get_redis().set(pending_key(scenario_id, tier), b"1", px=settings.CITYAI_DRAIN_PENDING_MS)
    except redis.RedisError:
        pass
