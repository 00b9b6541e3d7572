"""Rule families. A scenario names its family in the catalog (``Scenario.pipeline``); the family is
a function ``run(ctx, item) -> Outcome`` registered here under that name. Tensors run in Triton
(through ``ctx.infer``); the rule itself runs in the worker.

A rule reads nothing but its item and its ``Context``: earlier requests, a stored reference frame
and the router trained on exemplars all come through it, supplied by whoever runs the rule (the
executor reads the database, the evaluation runner its own frames). No module of this package
imports models, selectors or the catalog (an import-linter contract in pyproject.toml says so).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from services.inference import triton

Pipeline = Callable[["Context", "Item"], "Outcome"]
_REGISTRY: dict[str, "Family"] = {}


class InputRejected(Exception):
    """The input passed the API's checks but the pipeline cannot use it (fails the request at once)."""


@dataclass(frozen=True)
class Item:
    """What a pipeline works on: the stored input and the resolved params."""

    kind: str
    params: dict[str, Any]
    content: bytes | None = None
    data: Any = None


@dataclass
class Outcome:
    """A rule's decision. ``summary`` is English (API callers parse nothing from it, people read it);
    ``summary_zh`` is the same for the zh-Hans portal."""

    alert: bool
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
    annotated_jpeg: bytes | None = None
    summary_zh: str = ""

    def as_result(self) -> dict[str, Any]:
        zh = {"summary_zh": self.summary_zh} if self.summary_zh else {}
        return {"alert": self.alert, "summary": self.summary, **zh, **self.data}


@dataclass(frozen=True)
class ModelCall:
    model: str
    version: str
    compute_ms: float
    wall_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "compute_ms": round(self.compute_ms, 3),
                "wall_ms": round(self.wall_ms, 3)}


@dataclass(frozen=True)
class PastRequest:
    """An earlier finished request of the same bureau and scenario, for multi-frame and duplicate rules."""

    id: str
    created_at: datetime
    source: str
    data: Any
    params: dict[str, Any]
    result: dict[str, Any]
    captured_at: datetime | None = None
    load_input: Callable[[], bytes | None] = field(default=lambda: None, repr=False, compare=False)

    def input_content(self) -> bytes | None:
        """That request's stored input file (image, audio), read only when a rule asks for it; None
        when it had none or retention has purged it."""
        return self.load_input()


def _no_history(**kwargs: Any) -> list[PastRequest]:
    return []


def _no_input(request_id: str) -> bytes | None:
    return None


def _no_router(ctx: "Context", scenario_slug: str) -> Any:
    return None


@dataclass
class Context:
    """Carries the per-request Triton settings, records every model call for metering, and gives
    access to what a rule may read beyond its input.

    ``history(within_s=..., same_source=True, limit=..., older_than_s=0)`` returns earlier succeeded
    requests of the same bureau and scenario captured within ``within_s`` before this one (and at
    least ``older_than_s`` before it), newest first. ``stored_input(request_id)`` is the stored input
    of one of those earlier requests (None when it has none or retention purged it), for a reference
    frame older than the history a rule asks for. ``router(scenario_slug)`` is the text router
    trained on a routing scenario's exemplars (see ``load_router``).
    """

    priority: int = 0
    timeout_s: float = 30.0
    source: str = ""
    now: datetime | None = None
    history: Callable[..., list[PastRequest]] = _no_history
    stored_input: Callable[[str], bytes | None] = _no_input
    # ``(ctx, scenario_slug) -> Router | None`` (services/inference/routing.py): it embeds with this
    # context, so the encoder calls it makes are metered on this request.
    load_router: Callable[["Context", str], Any] = _no_router
    calls: list[ModelCall] = field(default_factory=list)

    def infer(self, model: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:
        result = triton.infer(model, inputs, outputs, priority=self.priority, timeout_s=self.timeout_s)
        self.calls.append(ModelCall(model, result.model_version, result.compute_ms, result.wall_ms))
        return result.outputs

    def require_source(self, what: str = "follows one camera over time") -> None:
        """Multi-frame rules need to know which camera a frame came from."""
        if not self.source:
            raise InputRejected(f"this scenario {what}: send a 'source' with each frame")

    def router(self, scenario_slug: str) -> Any:
        """The router trained on the scenario's exemplars; None when it has none."""
        return self.load_router(self, scenario_slug)

    def previous_tracks(self, max_gap_s: float) -> list[dict]:
        """The tracks the previous frame of this source left in its result (none after a gap)."""
        history = self.history(within_s=max_gap_s, same_source=True, limit=1)
        return history[0].result.get("tracks", []) if history else []

    @property
    def compute_ms(self) -> float:
        return sum(call.compute_ms for call in self.calls)


@dataclass(frozen=True)
class Family:
    run: Pipeline
    check_params: Callable[[dict[str, Any]], None] | None = None
    needs_source: Callable[[dict[str, Any]], str | None] | None = None


def follows_one_camera(what: str = "follows one camera over time") -> Callable[[dict[str, Any]], str]:
    """``needs_source`` for a family that always compares a frame with earlier ones of its source."""
    return lambda params: what


def register(
    name: str, *, check_params: Callable[[dict[str, Any]], None] | None = None,
    needs_source: Callable[[dict[str, Any]], str | None] | None = None,
) -> Callable[[Pipeline], Pipeline]:
    """Register a rule family; ``check_params`` may refuse params (``ValueError``) at submit time, and
    ``needs_source(params)`` says why these params need a ``source`` (None: they do not), so that a
    request without one is refused at submit (400) instead of failing in the worker."""

    def decorate(func: Pipeline) -> Pipeline:
        if name in _REGISTRY:
            raise ValueError(f"pipeline {name!r} registered twice")
        _REGISTRY[name] = Family(func, check_params, needs_source)
        return func

    return decorate


def set_params_check(name: str, check: Callable[[dict[str, Any]], None]) -> None:
    """Give a registered family the params check that reads the database (catalog rows its params
    name): it lives with the module that owns those reads, so the rule itself stays free of them."""
    _REGISTRY[name] = replace(get(name), check_params=check)


def get(name: str) -> Family:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"no pipeline named {name!r}") from None


def names() -> list[str]:
    return sorted(_REGISTRY)


def _import_families() -> None:
    """Import every module of this package, so that a new family file registers itself."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_families()
