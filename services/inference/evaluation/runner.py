"""Runs one scenario's rule family on evaluation samples, in process, through the real Triton.

Why not through the API and the worker: a set of a few hundred samples would leave a few hundred
request rows, events and usage figures behind in whatever database it runs on. The pipeline
call is the same one the worker makes (``pipelines.get(name).run(Context, Item)``) with the
scenario's catalog defaults; what the database would give (earlier requests of the same source,
for flicker, dwell and duplicate rules, and their stored inputs) the runner keeps in memory. The
router of a routing scenario is the database's, as the worker's is.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings

from services.catalog.params import resolve_params
from services.catalog.services import _schema_with_defs, catalog_data
from services.inference import pipelines
from services.inference.pipelines import Context, Item, Outcome, PastRequest
from services.inference.routing import routing_model

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a fixed clock: runs are repeatable


@cache
def _catalog() -> dict[str, Any]:
    return catalog_data()


def scenario_item(slug: str) -> dict[str, Any]:
    """The scenario as written in the catalog data (no database needed)."""
    for item in _catalog()["scenarios"]:
        if item["slug"] == slug:
            return item
    raise LookupError(f"no scenario {slug!r} in the catalog data")


class Runner:
    """One scenario, its resolved params, and an in-memory history of what it answered."""

    def __init__(self, slug: str, *, params: dict[str, Any] | None = None, timeout_s: float | None = None):
        self.slug = slug
        self.item = scenario_item(slug)
        self.family = pipelines.get(self.item["pipeline"])
        self.schema = _schema_with_defs(self.item.get("params_schema") or {}, _catalog().get("schema_defs", {}))
        self.base_params = dict(params or {})
        self.timeout_s = timeout_s or settings.TRITON_TIMEOUT_SECONDS
        self._history: list[tuple[PastRequest, bytes | None]] = []
        self._clock = EPOCH

    @property
    def last_id(self) -> str | None:
        """Id of the last request run (what a later duplicate points to)."""
        return self._history[-1][0].id if self._history else None

    @property
    def input_kind(self) -> str:
        return self.item["input_kind"]

    def resolve(self, params: dict[str, Any] | None = None, *, check: bool = True) -> dict[str, Any]:
        """The params a request would run with; ``ValueError`` when the family refuses them."""
        resolved = resolve_params(self.schema, {**self.base_params, **(params or {})})
        if check and self.family.check_params is not None:
            self.family.check_params(resolved)
        return resolved

    def reset(self) -> None:
        """Forget earlier answers (a new camera, a new batch of complaints)."""
        self._history.clear()

    def _history_for(self, now: datetime, source: str):
        def history(*, within_s: float = 3600, same_source: bool = True, limit: int = 200,
                    older_than_s: float = 0) -> list[PastRequest]:
            rows = [
                past for past, _ in self._history
                if now - timedelta(seconds=within_s) <= past.captured_at < now
                and (not same_source or past.source == source)
                and (older_than_s <= 0 or past.captured_at <= now - timedelta(seconds=older_than_s))
            ]
            return sorted(rows, key=lambda p: p.captured_at, reverse=True)[:limit]

        return history

    def _stored_input(self, request_id: str) -> bytes | None:
        return next((content for past, content in self._history if past.id == request_id), None)

    def context(self, source: str = "", now: datetime | None = None) -> Context:
        """The Context a rule runs with; alone, for calibration calls outside the rule (a baseline
        frame's indices)."""
        now = now or self._clock
        return Context(priority=0, timeout_s=self.timeout_s, source=source, now=now,
                       history=self._history_for(now, source), stored_input=self._stored_input,
                       load_router=routing_model)

    def run(self, *, content: bytes | None = None, text: str | None = None, data: Any = None,
            params: dict[str, Any] | None = None, source: str = "", at: datetime | None = None,
            after_s: float = 1.0) -> Outcome:
        """One request: an image/audio file (``content``), a text or other data. ``at`` is the capture
        time; by default each call is ``after_s`` seconds after the previous one."""
        now = at or (self._clock + timedelta(seconds=after_s))
        self._clock = max(self._clock, now)
        resolved = self.resolve(params)
        ctx = self.context(source, now)
        item = Item(kind=self.input_kind, params=resolved, content=content, data=text if text is not None else data)
        outcome = self.family.run(ctx, item)
        past = PastRequest(str(uuid.uuid4()), now, source, item.data, resolved, outcome.as_result(),
                           captured_at=now, load_input=lambda c=content: c)
        self._history.append((past, content))
        return outcome
