"""Process-local caches of configuration read on every API call or finished request (API keys, which
clients have webhooks, scenario and bureau rows), kept correct across processes by one generation
counter in Redis.

A save or delete of a watched model clears this process's entries at once and, after the commit,
bumps the counter; every other process compares the counter at most every
``CITYAI_CONFIG_CHECK_MS`` and drops its entries when it moved. So a revoked key stops working
everywhere within that time, while a busy API reads it from the database once, not per call.
Without Redis, entries live at most ``CITYAI_CONFIG_CACHE_SECONDS``. Cached rows are shared between
threads: treat them as read-only.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

from services.core.redis import get_redis

GENERATION_KEY = "cityai:config-generation"

_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}
_generation: list = [None, 0.0]  # [last seen counter, monotonic time it was read]


def _check_generation(now: float) -> None:
    if now - _generation[1] < settings.CITYAI_CONFIG_CHECK_MS / 1000:
        return
    try:
        current = get_redis().get(GENERATION_KEY)
    except redis.RedisError:
        current = _generation[0]  # keep entries; their lifetime still bounds them
    with _lock:
        if current != _generation[0]:
            _entries.clear()
        _generation[0], _generation[1] = current, now


def cached(key: Hashable, load: Callable[[], Any]) -> Any:
    """``load()``'s value for ``key``, from this process's cache while the configuration is unchanged."""
    now = time.monotonic()
    _check_generation(now)
    hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    with _lock:
        _entries[key] = (now + settings.CITYAI_CONFIG_CACHE_SECONDS, value)
    return value


M = TypeVar("M", bound=models.Model)


def cached_row(model: type[M], pk, *select_related: str) -> M:
    """The row ``pk`` of a watched ``model`` (with ``select_related`` loaded), read once per change."""
    return cached((model._meta.label, pk, select_related),
                  lambda: model.objects.select_related(*select_related).get(pk=pk))


def _bump() -> None:
    with _lock:
        _entries.clear()
    try:
        get_redis().incr(GENERATION_KEY)
    except redis.RedisError:
        pass


def invalidate() -> None:
    """Forget cached configuration here now, and everywhere once the current transaction commits."""
    with _lock:
        _entries.clear()
    transaction.on_commit(_bump)


def clear() -> None:
    """Forget this process's entries (tests start each case from the database)."""
    with _lock:
        _entries.clear()


def _changed(sender, **kwargs) -> None:
    invalidate()


def watch(*models) -> None:
    """Invalidate on every save and delete of these models (called from the owning apps' ready())."""
    for model in models:
        uid = f"configcache:{model._meta.label}"
        post_save.connect(_changed, sender=model, dispatch_uid=uid + ":save", weak=False)
        post_delete.connect(_changed, sender=model, dispatch_uid=uid + ":delete", weak=False)
