"""Recording evaluation figures: ``evaluation/results.json`` (the catalog reads it) and
``docs/accuracy.md`` (people read it), both committed and both rewritten by
``manage.py evaluate --all --write``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from services.catalog.accuracy import RESULTS_PATH, load_results, method_class

if TYPE_CHECKING:
    from services.inference.evaluation import Report

DOC_PATH = Path(settings.BASE_DIR) / "docs" / "accuracy.md"
COMMAND = ".venv/bin/python manage.py evaluate --all --write"


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path(settings.BASE_DIR).resolve())
    except ValueError:
        return path


def figures(report: Report, measured_at: str) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "samples": report.samples,
        "metrics": _round(report.metrics),
        "breakdown": _round(report.breakdown),
        "floors": report.evalset.floors,
        "ceilings": report.evalset.ceilings,
        "passed": report.passed,
        "measured_at": measured_at,
        "seconds": report.seconds,
        "command": f".venv/bin/python manage.py evaluate {report.scenario} --set {_relative(report.evalset.path)}",
    }


def write(reports: list[Report], *, path: Path = RESULTS_PATH, doc_path: Path | None = DOC_PATH) -> None:
    """Merge these reports into the results file (other scenarios' figures stay) and redraw the doc."""
    data = json.loads(json.dumps(load_results(path)))
    measured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for report in reports:
        # A set may stand for several scenarios on the same model (every plate scenario reads plates
        # with the same reader): ``shared_with`` records its figures for those too.
        for slug in [report.scenario, *report.evalset.meta.get("shared_with", [])]:
            data.setdefault("scenarios", {}).setdefault(slug, {})[report.evalset.name] = figures(report, measured_at)
    data["command"] = COMMAND
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if doc_path is not None:
        doc_path.write_text(render_markdown(data), encoding="utf-8")


METRIC_NAMES = {
    "exact": "exact plates", "char_accuracy": "characters", "line_accuracy": "line accuracy", "cer": "CER",
    "field_accuracy_min": "worst field", "field_accuracy_mean": "fields (mean)", "precision": "precision",
    "recall": "recall", "false_alarm_rate": "false alarms on ordinary scenes", "top1": "top-1",
    "top3": "top-3", "domain": "domain", "f1": "F1",
}


def format_metrics(metrics: dict[str, Any]) -> str:
    return ", ".join(f"{METRIC_NAMES.get(k, k)} {v:.3f}" if isinstance(v, float) else f"{METRIC_NAMES.get(k, k)} {v}"
                     for k, v in metrics.items())


def render_markdown(data: dict[str, Any]) -> str:
    from services.inference.evaluation.runner import scenario_item

    lines = [
        "# Measured accuracy",
        "",
        "Every figure below was measured by running a committed evaluation set (`evaluation/sets/`) through",
        "the scenario's real rule family and the real Triton models. The sets are never used to tune a rule",
        "or as exemplars (README, \"Measured accuracy: evaluation sets\"). Reproduce every figure with:",
        "",
        "```bash",
        "bin/up   # or any running Triton: TRITON_URL=…",
        COMMAND,
        "```",
        "",
        "`evaluate --all` (without `--write`) fails when a figure misses its floor; CI runs it",
        "(`tests/inference/test_evaluation.py`). Precision from human review (confirmed ÷ reviewed events)",
        "is shown next to these figures on each scenario's page.",
        "",
        "| scenario | method class | set | samples | measured | floor / ceiling | passed | when |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    details = []
    for slug, sets in sorted(data.get("scenarios", {}).items()):
        try:
            klass = method_class(scenario_item(slug)).replace("_", " ")
        except LookupError:
            klass = "?"
        for name, fig in sorted(sets.items()):
            bounds = ", ".join([f"{k} ≥ {v}" for k, v in fig["floors"].items()]
                               + [f"{k} ≤ {v}" for k, v in fig["ceilings"].items()])
            lines.append(f"| {slug} | {klass} | {name} | {fig['samples']} | {format_metrics(fig['metrics'])} | "
                         f"{bounds} | {'yes' if fig['passed'] else '**no**'} | {fig['measured_at'][:10]} |")
            for table, rows in fig.get("breakdown", {}).items():
                details.append(f"\n### {slug} — {name}: {table.replace('_', ' ')}\n")
                details.append("| | " + " | ".join(_columns(rows)) + " |")
                details.append("| --- |" + " --- |" * len(_columns(rows)))
                for key, row in rows.items():
                    cells = [_cell(row.get(c) if isinstance(row, dict) else row) for c in _columns(rows)]
                    details.append(f"| {key} | " + " | ".join(cells) + " |")
    if details:
        lines += ["", "## Breakdown", *details]
    return "\n".join(lines) + "\n"


def _columns(rows: dict[str, Any]) -> list[str]:
    cols: list[str] = []
    for row in rows.values():
        for key in (row if isinstance(row, dict) else {"value": row}):
            if key not in cols:
                cols.append(key)
    return cols


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)
