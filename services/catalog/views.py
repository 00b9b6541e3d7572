"""Portal pages of the catalog: the scenario list with search and filters, and one scenario's page.

The scenario page is also where a bureau tries a scenario; the form posts to the inference app
(``requests:submit``), which owns submitting. Example inputs and model licence notices are served
from the repository, so what a bureau sees is exactly what ships.
"""

import json
import mimetypes
import re
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from services.accounts.portal import portal_view
from services.catalog.accuracy import scenario_accuracy, scenario_method_class
from services.catalog.models import Scenario
from services.catalog.selectors import (
    domain_list,
    entitlement_for,
    entitlement_list,
    scenario_get,
    scenario_list,
    scenario_search,
    scenarios_using_model,
)

EXAMPLES_DIR = Path(__file__).resolve().parent / "data" / "examples"
_MODEL_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
# Panels that apps above the catalog add to the scenario page (events adds measured precision):
# callables ``(actor, scenario) -> {"template": ..., **context}``; the catalog imports none of them.
SCENARIO_PANELS: list = []
_CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
                "minLength", "maxLength", "pattern")


@portal_view()
def catalog_list(request, actor):
    params = {name: request.GET.get(name, "").strip()[:100] for name in ("q", "domain", "input_kind", "status")}
    base = {k: v for k, v in params.items() if k != "domain" and v}
    return render(request, "catalog/catalog.html", {
        "scenarios": list(scenario_search(**params)),
        "domains": domain_list(with_counts=True),
        "filters": params,
        "filtered": any(params.values()),
        "domain_query": urlencode(base),
        "input_kinds": Scenario.InputKind.choices,
        "statuses": Scenario.Status.choices,
        "entitled": set(entitlement_list(actor=actor, enabled=True).values_list("scenario_id", flat=True)),
        "total": scenario_list().count(),
    })


def _type_label(prop: dict, defs: dict) -> str:
    ref = prop.get("$ref", "")
    if ref.startswith("#/$defs/"):
        name = ref.rsplit("/", 1)[-1]
        if name == "zone":
            return _("zone polygon")
        prop = {**defs.get(name, {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    if "enum" in prop:
        return _("one of")
    names = {"integer": _("integer"), "number": _("number"), "string": _("text"), "boolean": _("yes/no"),
             "object": _("object")}
    kind = prop.get("type", "")
    if kind == "array":
        item = prop.get("items", {})
        inner = item.get("type", "") if isinstance(item, dict) else ""
        return _("list of %(kind)s") % {"kind": names.get(inner, inner) or _("values")}
    return names.get(kind, kind or "—")


def _limit_label(key: str, value) -> str:
    labels = {
        "minimum": _("≥ %(v)s"), "maximum": _("≤ %(v)s"), "exclusiveMinimum": _("> %(v)s"),
        "exclusiveMaximum": _("< %(v)s"), "minItems": _("at least %(v)s items"),
        "maxItems": _("at most %(v)s items"), "minLength": _("at least %(v)s characters"),
        "maxLength": _("at most %(v)s characters"), "pattern": _("pattern %(v)s"),
    }
    return labels[key] % {"v": value}


def params_rows(schema: dict) -> list[dict]:
    """The params schema as rows a person can read: name, type, default, allowed values, meaning."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        target = prop
        if prop.get("$ref", "").startswith("#/$defs/"):
            target = {**defs.get(prop["$ref"].rsplit("/", 1)[-1], {}), **prop}
        limits = []
        if "enum" in target:
            limits.append(" / ".join(str(v) for v in target["enum"]))
        limits += [_limit_label(key, target[key]) for key in _CONSTRAINTS if key in target]
        rows.append({
            "name": name,
            "type": _type_label(prop, defs),
            "default": json.dumps(prop["default"], ensure_ascii=False) if "default" in prop else "",
            "limits": ", ".join(limits),
            "description": target.get("description", ""),
            "required": name in required,
        })
    return rows


def _zone_points(scenario: Scenario) -> str:
    """The zone the example runs with, as SVG points in a 0..1 box (empty if the scenario has none)."""
    zone = (scenario.example_params or {}).get("zone")
    if zone is None:
        zone = ((scenario.params_schema or {}).get("properties", {}).get("zone") or {}).get("default")
    if not isinstance(zone, list) or len(zone) < 3:
        return ""
    try:
        return " ".join(f"{float(x):.4f},{float(y):.4f}" for x, y in zone)
    except (TypeError, ValueError):
        return ""


def example_path(scenario: Scenario) -> Path | None:
    """The scenario's example input file, only if it really lies in the examples folder."""
    if not scenario.example_input:
        return None
    path = (EXAMPLES_DIR / scenario.example_input).resolve()
    if path.parent != EXAMPLES_DIR.resolve() or not path.is_file():
        return None
    return path


def example_kind(path: Path | None) -> str:
    if path is None:
        return ""
    return {".jpg": "image", ".jpeg": "image", ".png": "image", ".webp": "image", ".bmp": "image",
            ".txt": "text", ".csv": "series", ".json": "series", ".wav": "audio"}.get(path.suffix.lower(), "file")


METHOD_CLASS_LABELS = {
    "trained_model": gettext_lazy("Trained model"),
    "published_standard": gettext_lazy("Published standard"),
    "rule_of_thumb": gettext_lazy("Rule of thumb"),
}
METRIC_LABELS = {
    "exact": gettext_lazy("exact reads"), "char_accuracy": gettext_lazy("characters right"),
    "colour_accuracy": gettext_lazy("colour right"), "line_accuracy": gettext_lazy("lines read exactly"),
    "cer": gettext_lazy("character error rate"), "field_accuracy_min": gettext_lazy("worst field"),
    "field_accuracy_mean": gettext_lazy("fields (mean)"), "code_valid": gettext_lazy("credit codes valid"),
    "precision": gettext_lazy("precision"), "recall": gettext_lazy("recall"),
    "false_alarm_rate": gettext_lazy("false alarms on ordinary scenes"),
    "link_accuracy": gettext_lazy("merged into the right complaint"), "top1": gettext_lazy("top-1"),
    "top3": gettext_lazy("top-3"), "domain": gettext_lazy("domain"),
}


def accuracy_rows(scenario: Scenario) -> list[dict]:
    """The scenario's figures from its evaluation sets (evaluation/results.json), ready to show."""
    rows = []
    for figures in scenario_accuracy(scenario.slug):
        metrics = [
            {"name": name, "label": METRIC_LABELS[name], "value": value,
             "bound": figures["floors"].get(name, figures["ceilings"].get(name)),
             "ceiling": name in figures["ceilings"]}
            for name, value in figures["metrics"].items() if name in METRIC_LABELS
        ]
        rows.append({"set": figures["set"], "samples": figures["samples"], "metrics": metrics,
                     "passed": figures["passed"], "measured_at": figures["measured_at"][:10],
                     "command": figures.get("command", "")})
    return rows


def scenario_context(actor, scenario: Scenario) -> dict:
    """What the scenario page shows; the try-it form re-renders it with the caller's input and errors."""
    entitlement = entitlement_for(actor=actor, scenario=scenario)
    path = example_path(scenario)
    kind = example_kind(path)
    blocked = ""
    if not actor.can_submit:
        blocked = _("Your role can read the catalog but not submit requests.")
    elif not scenario.is_working:
        blocked = _("This scenario is not available: %(status)s.") % {"status": scenario.get_status_display()}
    elif entitlement is None or not entitlement.enabled:
        blocked = _("Your bureau is not entitled to this scenario; ask a platform admin.")
    example_text = ""
    if kind == "text":
        example_text = path.read_text(encoding="utf-8")[:5000]
    return {
        "scenario": scenario,
        "entitlement": entitlement,
        "params_rows": params_rows(scenario.params_schema or {}),
        "example_kind": kind,
        "example_name": path.name if path else "",
        "example_text": example_text,
        "zone_points": _zone_points(scenario),
        "models": [name for name in scenario.model_names if _MODEL_NAME.match(name)],
        "blocked": blocked,
        "form": {
            "params": json.dumps(scenario.example_params, ensure_ascii=False) if scenario.example_params else "",
            "text": example_text,
        },
        "errors": {},
        "panels": [panel(actor, scenario) for panel in SCENARIO_PANELS],
        "accuracy": accuracy_rows(scenario),
        "method_class": METHOD_CLASS_LABELS[scenario_method_class(scenario)],
        "method_class_key": scenario_method_class(scenario),
    }


@portal_view()
def scenario_detail(request, actor, slug):
    scenario = scenario_get(slug=slug)
    return render(request, "catalog/scenario.html", scenario_context(actor, scenario))


@portal_view()
def scenario_example(request, actor, slug):
    path = example_path(scenario_get(slug=slug))
    if path is None:
        raise Http404
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path.open("rb"), content_type=content_type, filename=path.name)


@portal_view()
def model_licence(request, actor, name):
    """The licence notice that ships beside a model's weights, so a bureau can check it."""
    folder = Path(settings.TRITON_MODEL_REPOSITORY)
    path = folder / name / "LICENSE"
    if not _MODEL_NAME.match(name) or not path.is_file():
        raise Http404
    return render(request, "catalog/model_licence.html", {
        "model_name": name, "notice": path.read_text(encoding="utf-8", errors="replace"),
        "scenarios": scenarios_using_model(name),
    })
