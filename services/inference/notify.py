"""Result notices: when requests finish, the worker publishes their ids on one Redis channel, and API
calls waiting for them (``?wait``) wake at once instead of polling the database.

Each web process keeps **one** subscriber connection (a daemon thread) for all its waiting calls; a
call registers the id it waits for and sleeps on a ``threading.Event``. Subscribing per call would
cost a new Redis connection and two round trips per request. The hub also remembers the ids it
heard in the last minute, so a call that registers after its request already finished wakes at
once; and it tells the caller whether it has been listening since before a given moment, so a
request created after that needs no database read before it waits. Without Redis the waiters fall
back to reading the row every second.
"""

import logging
import os
import threading
import time
from collections import OrderedDict

import redis

from services.core.redis import get_redis

logger = logging.getLogger(__name__)

CHANNEL = "cityai:requests-finished"
_RECENT_SECONDS = 60.0
_RECENT_MAX = 50_000


def publish_finished(request_ids) -> None:
    """One notice for a finished batch: the ids, comma-separated."""
    if not request_ids:
        return
    try:
        get_redis().publish(CHANNEL, ",".join(str(i) for i in request_ids).encode())
    except redis.RedisError as exc:  # waiters fall back to polling
        logger.warning("could not publish the end of %d requests: %s", len(request_ids), exc)


class _Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[threading.Event]] = {}
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._listening_since: float | None = None  # time.time() of the current subscription
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._subscribed = threading.Event()

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._subscribed.clear()
            self._listening_since = None
            self._thread = threading.Thread(target=self._run, name="cityai-result-notices", daemon=True)
            self._thread.start()
        self._subscribed.wait(0.5)

    def _run(self) -> None:
        backoff = 0.1
        while True:
            pubsub = None
            try:
                pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                pubsub.get_message(timeout=1.0)  # the subscribe confirmation
                self._listening_since = time.time()
                self._subscribed.set()
                backoff = 0.1
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self._heard(message["data"].decode().split(","))
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any error
                self._listening_since = None
                self._subscribed.clear()
                logger.warning("result notices interrupted (%s); waiting calls poll meanwhile", exc)
                time.sleep(backoff)
                backoff = min(5.0, backoff * 2)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception as exc:  # noqa: BLE001
                        logger.debug("closing the notice subscription: %s", exc)

    def _heard(self, ids: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for request_id in ids:
                self._recent[request_id] = now
                for event in self._waiters.pop(request_id, ()):
                    event.set()
            while self._recent and (len(self._recent) > _RECENT_MAX
                                    or next(iter(self._recent.values())) < now - _RECENT_SECONDS):
                self._recent.popitem(last=False)

    def register(self, request_id) -> threading.Event:
        """An event set when the request's notice arrives (already set if it arrived before)."""
        self._start()
        key = str(request_id)
        event = threading.Event()
        with self._lock:
            if key in self._recent:
                event.set()
            else:
                self._waiters.setdefault(key, []).append(event)
        return event

    def unregister(self, request_id, event: threading.Event) -> None:
        with self._lock:
            events = self._waiters.get(str(request_id))
            if events and event in events:
                events.remove(event)
                if not events:
                    del self._waiters[str(request_id)]

    def listening_since(self) -> float | None:
        """Since when (epoch seconds) every notice has reached this process; None while not listening."""
        return self._listening_since


hub = _Hub()
