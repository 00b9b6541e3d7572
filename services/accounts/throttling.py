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


class ApiClientRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = None

    def allow_request(self, request, view) -> bool:
        client = getattr(request.user, "api_client", None)
        if client is None or not client.rate_limit_per_minute:
            return True
        now = time.time()
        window = int(now // 60)
        key = f"cityai:rate:{client.prefix}:{window}"
        try:
            pipe = get_redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count = pipe.execute()[0]
        except (redis.RedisError, ValueError) as exc:
            # ValueError: redis-py 8 masks a read timeout under load with "I/O operation on closed file".
            logger.warning("rate limit not checked (Redis unavailable: %s)", exc)
            return True
        if count > client.rate_limit_per_minute:
            self._wait = (window + 1) * 60 - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
