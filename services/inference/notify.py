"""Result notices: when a request finishes, its id is published on Redis so that API calls waiting
for it (``?wait``) wake at once instead of polling the database."""

import logging
import time

import redis

from services.core.redis import get_redis

logger = logging.getLogger(__name__)


def channel(request_id) -> str:
    return f"cityai:request-finished:{request_id}"


def publish_finished(request_id) -> None:
    try:
        get_redis().publish(channel(request_id), b"1")
    except redis.RedisError as exc:  # waiters fall back to polling
        logger.warning("could not publish the end of request %s: %s", request_id, exc)


class FinishedListener:
    """Subscribe before checking the row, so that a finish between the check and the wait is not missed."""

    def __init__(self, request_id) -> None:
        self._pubsub = None
        try:
            self._pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
            self._pubsub.subscribe(channel(request_id))
        except redis.RedisError as exc:
            logger.warning("result notices unavailable, polling instead: %s", exc)
            self._pubsub = None

    def wait(self, seconds: float) -> None:
        """Return when a notice arrives or after ``seconds`` (at most a short poll without Redis)."""
        if self._pubsub is None:
            time.sleep(min(seconds, 0.25))
            return
        try:
            self._pubsub.get_message(timeout=max(0.0, seconds))
        except redis.RedisError:
            self._pubsub = None
            time.sleep(min(seconds, 0.25))

    def close(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except redis.RedisError:
                pass
