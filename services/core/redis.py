"""One Redis client per process for the platform's own use (rate-limit counters, result notices),
separate from Celery's broker connections."""

import redis
from django.conf import settings

_client: redis.Redis | None = None


def get_redis() -> redis.Redis:
    global _client
    if _client is None:
        url = settings.CITYAI_REDIS_URL.replace("redis+socket://", "unix://")
        _client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=0.5, health_check_interval=30)
    return _client
