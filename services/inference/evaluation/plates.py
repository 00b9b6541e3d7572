"""Plates: exact reads and character accuracy, overall and per plate colour and per hard case.

Sample: ``{file: 0001.jpg, plate: 苏E2J7M9, colour: blue|green|yellow, tags: [tilt, blur, night]}``.
The plate counted is the most confident one the scenario reports (after its ``min_score``), so a
read the scenario would drop counts as a miss, exactly as a bureau would see it.
"""

from collections import defaultdict

from services.inference.evaluation import EvalSet, Report, Runner, register
from services.inference.evaluation.metrics import char_accuracy
from services.inference.pipelines.primitives import normalize_plate


@register("plates")
def evaluate_plates(runner: Runner, evalset: EvalSet) -> Report:
    report = Report(scenario=runner.slug, kind="plates", evalset=evalset)
    groups: dict[str, list[tuple[bool, float, bool]]] = defaultdict(list)
    for sample in evalset.samples:
        truth = normalize_plate(sample["plate"])
        outcome = runner.run(content=evalset.file(sample["file"]))
        plates = sorted(outcome.data.get("plates", []), key=lambda p: -p["score"])
        read = plates[0]["normalized"] if plates else ""
        colour = plates[0]["colour"] if plates else ""
        row = (read == truth, char_accuracy(truth, read), colour == sample.get("colour", colour))
        for key in ["all", f"colour:{sample.get('colour', '?')}", *(f"case:{t}" for t in sample.get("tags", []))]:
            groups[key].append(row)
        if read != truth:
            report.failures.append(f"{sample['file']}: {truth} read as {read or '(nothing)'}")
    rows = groups.pop("all", [])
    report.samples = len(rows)
    report.metrics = _figures(rows)
    report.breakdown["per_colour"] = {k.split(":", 1)[1]: _figures(v) | {"n": len(v)}
                                      for k, v in sorted(groups.items()) if k.startswith("colour:")}
    report.breakdown["per_case"] = {k.split(":", 1)[1]: _figures(v) | {"n": len(v)}
                                    for k, v in sorted(groups.items()) if k.startswith("case:")}
    return report


def _figures(rows: list[tuple[bool, float, bool]]) -> dict[str, float]:
    n = max(1, len(rows))
    return {
        "exact": sum(r[0] for r in rows) / n,
        "char_accuracy": sum(r[1] for r in rows) / n,
        "colour_accuracy": sum(r[2] for r in rows) / n,
    }
