"""12345 routing: top-1 and top-3 bureau, domain accuracy, per-bureau recall, and how right the
router is above and below its "route by hand" threshold.

Sample: ``{bureau: water-affairs, style: plain|terse|angry|dialect|misspelt, text: …}``. The domain
a sample counts under is its bureau's domain in the routing data (``RoutingTarget.domain``).

Routing reads the database (targets, exemplars, the trained classifier), unlike the image rules: the
figures are those of the router the database holds. A database without the scenario's exemplars
(a fresh CI database) gets the shipped catalog data loaded first — what ``load_catalog`` does. A set
text that is also an exemplar (say a dispatcher re-routed it) is counted in ``exemplar_overlap``,
which the set caps at 0: tuning data and evaluation data stay apart.
"""

from __future__ import annotations

from collections import defaultdict

from services.inference.evaluation import EvalSet, Report, Runner, register


def _ensure_routing_data(scenario_slug: str) -> list[str]:
    """Load the shipped catalog and routing data when the database lacks the scenario's exemplars;
    returns what it did, for the report."""
    from services.catalog.exemplars import routing_exemplars_load
    from services.catalog.models import RoutingExemplar
    from services.catalog.services import catalog_load

    if RoutingExemplar.objects.filter(scenario__slug=scenario_slug).exists():
        return []
    catalog_load(by="command:evaluate")
    loaded = routing_exemplars_load(by="command:evaluate")
    return [f"loaded the shipped routing data ({loaded.created} exemplars)"]


def _confidence_rows(rows: list[dict], threshold: float) -> dict[str, float | int]:
    above = [r for r in rows if r["confidence"] >= threshold]
    below = [r for r in rows if r["confidence"] < threshold]

    def accuracy(group: list[dict]) -> float | None:
        return sum(r["top1"] for r in group) / len(group) if group else None

    return {"n_confident": len(above), "n_route_by_hand": len(below),
            "accuracy_confident": accuracy(above), "accuracy_route_by_hand": accuracy(below)}


@register("routing")
def evaluate_routing(runner: Runner, evalset: EvalSet) -> Report:
    import hashlib

    from services.catalog.models import RoutingExemplar, RoutingTarget

    report = Report(scenario=runner.slug, kind="routing", evalset=evalset)
    notes = _ensure_routing_data(runner.slug)
    params = runner.resolve()
    scenario_slug = params["exemplar_scenario"]
    threshold = params["min_confidence"]
    domains = dict(RoutingTarget.objects.filter(scenario__slug=scenario_slug).values_list("bureau__slug", "domain"))
    exemplar_hashes = set(RoutingExemplar.objects.filter(scenario__slug=scenario_slug)
                          .values_list("text_sha256", flat=True))
    rows: list[dict] = []
    overlap = 0
    classifier: dict = {}
    for sample in evalset.samples:
        text = sample["text"].strip()
        if hashlib.sha256(text.encode("utf-8")).hexdigest() in exemplar_hashes:
            overlap += 1
            report.failures.append(f"also an exemplar, not counted: {text[:40]}")
            continue
        data = runner.run(text=text).data
        classifier = data.get("classifier") or classifier
        ranked = [data["bureau"], *(r["bureau"] for r in data.get("runner_ups", []))]
        truth = sample["bureau"]
        row = {"bureau": truth, "style": sample.get("style", "plain"), "confidence": data["confidence"],
               "top1": ranked[0] == truth, "top3": truth in ranked[:3],
               "domain": domains.get(ranked[0]) is not None and domains.get(ranked[0]) == domains.get(truth)}
        rows.append(row)
        if not row["top1"]:
            report.failures.append(f"{truth} → {ranked[0]} ({data['confidence']:.2f}"
                                   f"{', by hand' if data['confidence'] < threshold else ''}): {text[:40]}")
    n = max(1, len(rows))
    report.samples = len(rows)
    report.metrics = {
        "top1": sum(r["top1"] for r in rows) / n,
        "top3": sum(r["top3"] for r in rows) / n,
        "domain": sum(r["domain"] for r in rows) / n,
        "route_by_hand_rate": sum(r["confidence"] < threshold for r in rows) / n,
        **_confidence_rows(rows, threshold),
        "exemplar_overlap": overlap,
    }
    by_bureau: dict[str, list[dict]] = defaultdict(list)
    by_style: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_bureau[row["bureau"]].append(row)
        by_style[row["style"]].append(row)
    report.breakdown["per_bureau_recall"] = {
        b: {"recall": sum(r["top1"] for r in rs) / len(rs), "top3": sum(r["top3"] for r in rs) / len(rs),
            "n": len(rs)} for b, rs in sorted(by_bureau.items())}
    report.breakdown["per_style"] = {
        s: {"top1": sum(r["top1"] for r in rs) / len(rs), "domain": sum(r["domain"] for r in rs) / len(rs),
            "n": len(rs)} for s, rs in sorted(by_style.items())}
    report.breakdown["router"] = {
        "threshold": {"min_confidence": threshold},
        "classifier": {k: classifier.get(k) for k in ("id", "exemplars", "cv_top1", "trained_at")},
        **({"notes": {"setup": "; ".join(notes)}} if notes else {}),
    }
    return report
