"""Putting accepted work on the queues, by task name (services never import tasks).

Work is announced per scenario and tier, not per request: a *drain* message tells a worker "rows of
this scenario are due in this tier", and the worker claims up to ``CITYAI_WORKER_BATCH_SIZE`` of them
in one statement, runs them, and claims again until nothing is due. A Redis counter holds how many
drains of the scenario and tier are announced or at work; while it is at
``CITYAI_DRAINS_PER_SCENARIO``, further submits publish nothing: those drains will find their rows.
(Up to that many run side by side, so a few requests of a heavy model overlap in Triton instead of
waiting for each other's batch.) A drain that finds nothing leaves the count and claims once more;
every submit commits its row *before* it looks at the count, so a row is either seen by that last
claim or announced by its own submit. A drain that claimed a full batch asks for another to help.
So under load one message and a few statements serve many requests; at a trickle each request still
gets its own message at once. A lost message costs
nothing but time: the reaper re-announces rows that stayed queued past their due time.
"""

import logging

import redis
from celery import current_app
from django.conf import settings

from services.core.redis import get_redis, script

logger = logging.getLogger(__name__)

DRAIN_TASK = "services.inference.tasks.drain_requests"


def pending_key(scenario_id, tier: str) -> str:
    return f"cityai:drains:{scenario_id}:{tier}"


# KEYS[1] the count of drains announced or running; ARGV: the limit, the key's lifetime (ms).
_ADMIT_LUA = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
_DECR_LUA = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
"""
def drains_for(scenario) -> int:
    """How many drains of a scenario may run side by side. Frames and recordings go to heavy models,
    where overlapping requests keep Triton busy: up to ``CITYAI_DRAINS_PER_SCENARIO``. Readings and
    texts cost Triton little and the platform's bookkeeping most, which bigger batches make cheaper:
    one drain (measured: docs/performance.md)."""
    return settings.CITYAI_DRAINS_PER_SCENARIO if scenario.input_kind in ("image", "audio") else 1


def enqueue_drain(*, scenario_id, tier: str, countdown: float = 0, force: bool = False,
                  parallel: int | None = None) -> None:
    """Make sure a worker will drain the due rows of (scenario, tier): publish a drain message unless
    ``parallel`` (``drains_for``; default ``CITYAI_DRAINS_PER_SCENARIO``) are already announced or
    running (they will find the rows). A delayed drain (a retry's backoff) and a forced one (a
    running drain asking for help, or handing over) are always published."""
    key = pending_key(scenario_id, tier)
    counted = False
    try:
        if force:
            _count_in(key)
            counted = True
        elif not countdown:
            limit = parallel or settings.CITYAI_DRAINS_PER_SCENARIO
            if not script(_ADMIT_LUA)(keys=[key], args=[limit, settings.CITYAI_DRAIN_PENDING_MS]):
                return
            counted = True
    except redis.RedisError:
        counted = False  # without the count every submit publishes: more messages, nothing lost
    try:
        current_app.send_task(DRAIN_TASK, args=[scenario_id, tier, counted], queue=tier, countdown=countdown or None)
    except Exception:
        # The rows are committed, so the work is not lost: the reaper announces them again.
        logger.exception("could not enqueue a drain of scenario %s (%s); the reaper will retry", scenario_id, tier)
        if counted:
            drain_leaving(scenario_id=scenario_id, tier=tier)


def drain_leaving(*, scenario_id, tier: str) -> None:
    """A drain stops (it found nothing due, or it ends): one fewer is at work. A drain that found
    nothing claims once more after this, so a row committed just before it is not left behind."""
    try:
        script(_DECR_LUA)(keys=[pending_key(scenario_id, tier)])
    except redis.RedisError:
        pass


def _count_in(key: str) -> None:
    """One more drain announced or at work, in one round trip (raises ``RedisError``)."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.incr(key)
    pipe.pexpire(key, settings.CITYAI_DRAIN_PENDING_MS)
    pipe.execute()


def drain_staying(*, scenario_id, tier: str) -> None:
    """A drain is (again) at work: it counts towards the limit while it lasts."""
    try:
        _count_in(pending_key(scenario_id, tier))
    except redis.RedisError:
        pass


def drain_alive(*, scenario_id, tier: str) -> None:
    """A long drain keeps its count from expiring (the lifetime only heals counts a crash left)."""
    try:
        get_redis().pexpire(pending_key(scenario_id, tier), settings.CITYAI_DRAIN_PENDING_MS)
    except redis.RedisError:
        pass
