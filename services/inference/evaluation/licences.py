"""Business licences: per-field exact accuracy (after removing spaces and unifying full/half width),
the worst field as the headline, and the share of credit codes that pass GB 32100.

Sample: ``{file: 01.jpg, fields: {name: …, credit_code: …, …}}``; every labelled field counts,
a field the scenario does not return is wrong.
"""

import unicodedata

from services.inference.evaluation import EvalSet, Report, Runner, register


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).rstrip("。.")


@register("licences")
def evaluate_licences(runner: Runner, evalset: EvalSet) -> Report:
    report = Report(scenario=runner.slug, kind="licences", evalset=evalset)
    right: dict[str, list[bool]] = {}
    codes_valid = []
    for sample in evalset.samples:
        outcome = runner.run(content=evalset.file(sample["file"]))
        got = outcome.data.get("fields", {})
        codes_valid.append(bool(outcome.data.get("credit_code_valid")))
        for name, truth in sample["fields"].items():
            ok = _norm(got.get(name, "")) == _norm(truth)
            right.setdefault(name, []).append(ok)
            if not ok:
                report.failures.append(f"{sample['file']} {name}: {truth!r} read as {got.get(name)!r}")
    report.samples = len(evalset.samples)
    per_field = {name: sum(v) / len(v) for name, v in right.items()}
    report.metrics = {
        "field_accuracy_min": min(per_field.values(), default=0.0),
        "field_accuracy_mean": sum(per_field.values()) / max(1, len(per_field)),
        "code_valid": sum(codes_valid) / max(1, len(codes_valid)),
    }
    report.breakdown["per_field"] = {name: {"accuracy": acc, "n": len(right[name])} for name, acc in per_field.items()}
    return report
