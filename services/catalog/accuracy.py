"""Measured accuracy of scenarios, as ``manage.py evaluate --write`` last recorded it.

The figures live in the committed ``evaluation/results.json`` (not a table): they are measured on
committed sets by a committed command, so they change with the code in the same commit and every
installation shows the same numbers. The catalog reads them here without importing the inference
app (catalog ← inference).

Method classes say how far a figure can be trusted beyond its set:
- ``trained_model``: a network trained on real data (its licence is on the scenario page);
- ``published_standard``: a published method or standard (Ringelmann, HJ, GB, CIE …) computed as
  written;
- ``rule_of_thumb``: a threshold on a classical index chosen by us; needs local checking.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

RESULTS_PATH = Path(settings.BASE_DIR) / "evaluation" / "results.json"
METHOD_CLASSES = ("trained_model", "published_standard", "rule_of_thumb")
# Triton models with trained weights; a scenario on any of them is a trained-model scenario unless
# its catalog entry says otherwise (``method_class``).
TRAINED_MODELS = {"object_detector", "pose_estimator", "plate_reader", "ocr", "text_encoder", "text_ner",
                  "face_detector"}


def method_class(item: dict[str, Any]) -> str:
    """A catalog entry's (or Scenario's field values') method class."""
    declared = item.get("method_class")
    if declared:
        if declared not in METHOD_CLASSES:
            raise ValueError(f"method_class {declared!r} is not one of {METHOD_CLASSES}")
        return declared
    models = set(item.get("models") or item.get("model_names") or [])
    return "trained_model" if models & TRAINED_MODELS else "published_standard"


@lru_cache(maxsize=1)
def _declared_classes() -> dict[str, dict[str, Any]]:
    from services.catalog.services import catalog_data

    return {item["slug"]: item for item in catalog_data()["scenarios"]}


def scenario_method_class(scenario) -> str:
    """A Scenario row's method class: as its catalog entry declares, else from its models."""
    item = _declared_classes().get(scenario.slug, {})
    return method_class({"method_class": item.get("method_class"), "models": scenario.model_names})


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_results(path: Path | None = None) -> dict[str, Any]:
    """The whole results file ({"scenarios": {slug: {set name: figures}}}); empty when missing."""
    path = path or RESULTS_PATH
    try:
        return _load(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return {"scenarios": {}}


def scenario_accuracy(slug: str) -> list[dict[str, Any]]:
    """Every set measured for one scenario, each: set, kind, samples, metrics, floors, ceilings,
    measured_at, passed, command."""
    sets = load_results().get("scenarios", {}).get(slug, {})
    return [{"set": name, **figures} for name, figures in sorted(sets.items())]
