"""A small per-process cache of rows that change rarely (scenarios, bureaus), for the worker's hot path.

A worker finishing hundreds of requests a second would otherwise read the same scenario and bureau
for each of them. Entries live ``CITYAI_ROW_CACHE_SECONDS``: an edited scenario is seen by every
worker within that time, which is what a catalog change needs (requests already accepted run with
the rules they were accepted under anyway).
"""

import threading
import time
from typing import TypeVar

from django.conf import settings
from django.db import models

M = TypeVar("M", bound=models.Model)

_lock = threading.Lock()
_rows: dict[tuple[str, object, tuple[str, ...]], tuple[float, models.Model]] = {}


def cached_row(model: type[M], pk, *select_related: str) -> M:
    """The row ``pk`` of ``model`` (with ``select_related`` loaded), read at most once per TTL."""
    key = (model._meta.label, pk, select_related)
    now = time.monotonic()
    hit = _rows.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = model.objects.select_related(*select_related).get(pk=pk)
    with _lock:
        _rows[key] = (now + settings.CITYAI_ROW_CACHE_SECONDS, row)
    return row


def clear() -> None:
    """Forget everything (tests that edit the catalog, and the catalog loader)."""
    with _lock:
        _rows.clear()
