"""Per API client rate limit, counted in Redis so that every web process shares one count.

A fixed one-minute window per client: cheap (one INCR and one EXPIRE per call) and good enough to
stop a runaway script; quotas, not this, are what bound a bureau's share of the compute. If Redis
cannot be reached the call is let through: the limit protects the platform, it must not take it down.
"""

import logging
import time

import redis
from rest_framework.throttling import BaseThrottle

from services.core.redis import get_redis

logger = logging.getLogger(__name__)


class PerMinuteRateThrottle(BaseThrottle):
    """A fixed one-minute window counted in Redis; subclasses say whose count and what limit."""

    scope = "rate"

    def __init__(self) -> None:
        self._wait = None

    def key_and_limit(self, request) -> tuple[str, int] | None:
        """The caller's counter name and its limit a minute, or None for no limit."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        found = self.key_and_limit(request)
        if found is None or not found[1]:
            return True
        name, limit = found
        now = time.time()
        window = int(now // 60)
        key = f"cityai:{self.scope}:{name}:{window}"
        try:
            pipe = get_redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = pipe.execute()[0]
        except (redis.RedisError, ValueError) as exc:
            # ValueError: redis-py 8 masks a read timeout under load with "I/O operation on closed file".
            logger.warning("%s limit not checked (Redis unavailable: %s)", self.scope, exc)
            return True
        if count > limit:
            self._wait = (window + 1) * 60 - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class ApiClientRateThrottle(PerMinuteRateThrottle):
    scope = "rate"

    def key_and_limit(self, request) -> tuple[str, int] | None:
        client = getattr(request.user, "api_client", None)
        return None if client is None else (client.prefix, client.rate_limit_per_minute)
