"""One Redis client per process for the platform's own use (rate-limit counters, result notices),
separate from Celery's broker connections."""

import redis
from django.conf import settings

_client: redis.Redis | None = None
_scripts: dict[str, object] = {}


def get_redis() -> redis.Redis:
    global _client
    if _client is None:
        url = settings.CITYAI_REDIS_URL.replace("redis+socket://", "unix://")
        _client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=0.5, health_check_interval=30)
    return _client


def script(source: str):
    """A Lua script registered once per process on this client (redis-py runs it by its digest)."""
    registered = _scripts.get(source)
    if registered is None:
        registered = _scripts[source] = get_redis().register_script(source)
    return registered
