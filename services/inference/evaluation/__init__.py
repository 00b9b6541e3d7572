"""Evaluation of scenarios on labelled sets that are never learned from (DESIGN 7b).

``manage.py evaluate SCENARIO --set DIR`` runs one set, ``manage.py evaluate --all`` every set
under ``evaluation/sets/`` and fails (exit 1) when a figure is below its floor (or above its
ceiling). Sets run through the real rule family and the real Triton, in process, the way the
worker runs a request (``pipelines.get(name).run(Context, Item)``) but without database rows:
history for multi-frame and duplicate rules is kept in memory by the :class:`Runner`.

Why a registry of evaluators: each kind of output needs its own metric (exact plates, per-field
licences, precision/recall of alerts, top-k routing), and engineers add kinds without touching
the command.

Interface for a new kind (one module in this package, imported by ``_import_kinds``)::

    from services.inference.evaluation import EvalSet, Report, Runner, register

    @register("routing")
    def evaluate_routing(runner: Runner, evalset: EvalSet) -> Report:
        report = Report(scenario=runner.slug, kind="routing", evalset=evalset)
        for sample in evalset.samples:               # dicts, as written in set.yaml
            outcome = runner.run(text=sample["text"])  # an Outcome of the scenario's rule family
            ...
        report.metrics["top1"] = ...                 # floats in [0, 1] (or counts)
        report.samples = len(evalset.samples)
        report.breakdown["per_bureau_recall"] = {...} # optional tables, shown in docs/accuracy.md
        report.failures.append("…")                  # a few misses, for people reading the output
        return report

A set is a folder ``evaluation/sets/<name>/`` with ``set.yaml``::

    kind: plates                        # the evaluator registered under this name
    scenarios: [wanted-vehicle-watchlist, ...]  # the scenarios the figures stand for
    floors: {exact: 0.97}               # metric >= floor, else evaluate --all fails
    ceilings: {false_alarm_rate: 0.02}  # metric <= ceiling
    params: {...}                       # optional params for every run (merged over the defaults)
    scenario_params: {slug: {...}}      # optional params for one scenario (a camera's calibration)
    generated_by: tools/make_evaluation_sets.py   # for rendered sets
    samples: [...]                      # one dict per sample; files relative to the folder

Files a set refers to live in the same folder. ``Report.passed`` compares metrics with the set's
floors and ceilings. ``results.write`` keeps the last figures per scenario in the committed
``evaluation/results.json`` (read by the catalog page and ``catalog_report``) and renders
``docs/accuracy.md``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from services.inference.evaluation.runner import Runner

__all__ = ["SETS_DIR", "EvalSet", "Report", "Runner", "discover_sets", "get", "kinds", "load_set", "register"]

SETS_DIR = Path(settings.BASE_DIR) / "evaluation" / "sets"


@dataclass
class EvalSet:
    name: str
    path: Path
    kind: str
    scenarios: list[str]
    samples: list[dict[str, Any]]
    floors: dict[str, float] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def file(self, name: str) -> bytes:
        return (self.path / name).read_bytes()


@dataclass
class Report:
    scenario: str
    kind: str
    evalset: EvalSet
    samples: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    breakdown: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def shortfalls(self) -> list[str]:
        """Each floor or ceiling the figures miss, as text; empty when the set passes."""
        missed = []
        for name, floor in self.evalset.floors.items():
            value = self.metrics.get(name)
            if value is None or value < floor:
                missed.append(f"{name} {value if value is None else round(value, 4)} < floor {floor}")
        for name, ceiling in self.evalset.ceilings.items():
            value = self.metrics.get(name)
            if value is None or value > ceiling:
                missed.append(f"{name} {value if value is None else round(value, 4)} > ceiling {ceiling}")
        return missed

    @property
    def passed(self) -> bool:
        return not self.shortfalls()


Evaluator = Callable[[Runner, EvalSet], Report]
_REGISTRY: dict[str, Evaluator] = {}


def register(kind: str) -> Callable[[Evaluator], Evaluator]:
    def decorate(func: Evaluator) -> Evaluator:
        if kind in _REGISTRY:
            raise ValueError(f"evaluator {kind!r} registered twice")
        _REGISTRY[kind] = func
        return func

    return decorate


def get(kind: str) -> Evaluator:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise LookupError(f"no evaluator for kind {kind!r}; known: {', '.join(kinds())}") from None


def kinds() -> list[str]:
    return sorted(_REGISTRY)


def load_set(path: Path | str) -> EvalSet:
    path = Path(path)
    manifest = path / "set.yaml"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} does not exist: an evaluation set is a folder with set.yaml")
    data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    known = {"kind", "scenarios", "samples", "floors", "ceilings", "params"}
    return EvalSet(
        name=path.name, path=path, kind=data["kind"], scenarios=list(data.get("scenarios", [])),
        samples=list(data.get("samples", [])), floors=dict(data.get("floors") or {}),
        ceilings=dict(data.get("ceilings") or {}), params=dict(data.get("params") or {}),
        meta={k: v for k, v in data.items() if k not in known},
    )


def discover_sets(root: Path = SETS_DIR) -> list[EvalSet]:
    return [load_set(p.parent) for p in sorted(root.glob("*/set.yaml"))]


def evaluate(slug: str, evalset: EvalSet, *, triton_timeout_s: float = 60.0) -> Report:
    """Run one set for one scenario and time it."""
    import time

    started = time.perf_counter()
    params = {**evalset.params, **(evalset.meta.get("scenario_params") or {}).get(slug, {})}
    runner = Runner(slug, params=params, timeout_s=triton_timeout_s)
    report = get(evalset.kind)(runner, evalset)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _import_kinds() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in {"runner", "results", "metrics"}:
            importlib.import_module(f"{__name__}.{module.name}")


_import_kinds()
