"""Duplicate merging: complaints submitted in order to one scenario; a complaint is a duplicate
exactly when an earlier one tells the same incident (``incident`` in the set).

Metrics: precision and recall of "duplicate" answers, and ``link_accuracy``: of the true duplicates
found, the share linked to an earlier complaint of the same incident (merging into the wrong
event is worse than not merging).
"""

from services.inference.evaluation import EvalSet, Report, Runner, register


@register("duplicates")
def evaluate_duplicates(runner: Runner, evalset: EvalSet) -> Report:
    report = Report(scenario=runner.slug, kind="duplicates", evalset=evalset)
    runner.reset()
    incident_of: dict[str, str] = {}
    seen: set[str] = set()
    tp = fp = fn = linked = 0
    for sample in evalset.samples:
        want = sample["incident"] in seen
        outcome = runner.run(text=sample["text"], after_s=600)
        target = outcome.data.get("duplicate_of")
        if outcome.alert and want:
            tp += 1
            linked += incident_of.get(target) == sample["incident"]
        elif outcome.alert:
            fp += 1
            report.failures.append(f"{sample['text'][:24]}…: merged although a new incident")
        elif want:
            fn += 1
            report.failures.append(f"{sample['text'][:24]}…: not merged with its earlier report")
        incident_of[runner.last_id] = sample["incident"]
        seen.add(sample["incident"])
    report.samples = len(evalset.samples)
    report.metrics = {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "link_accuracy": linked / tp if tp else 0.0,
        "duplicates": tp + fn,
    }
    return report
