"""Small metric helpers shared by the evaluators."""

from __future__ import annotations


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(truth: str, read: str) -> float:
    """1 − edit distance / length of the truth, floored at 0 (a plate read as nothing scores 0)."""
    if not truth:
        return 1.0 if not read else 0.0
    return max(0.0, 1.0 - edit_distance(truth, read) / len(truth))


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def alert_metrics(rows: list[tuple[bool, bool, bool]]) -> dict[str, float | int]:
    """rows: (expected alert, alerted, is an ordinary negative scene).

    precision/recall over the whole set; false_alarm_rate over the ordinary negatives only (scenes
    without the subject at all), which is what a bureau lives with day to day.
    """
    tp = sum(1 for want, got, _ in rows if want and got)
    fp = sum(1 for want, got, _ in rows if not want and got)
    fn = sum(1 for want, got, _ in rows if want and not got)
    ordinary = [got for want, got, neg in rows if neg and not want]
    out: dict[str, float | int] = {}
    if tp + fn:  # precision and recall mean something only on a set with positives
        out["precision"] = ratio(tp, tp + fp) or 0.0
        out["recall"] = ratio(tp, tp + fn) or 0.0
    if ordinary:
        out["false_alarm_rate"] = sum(ordinary) / len(ordinary)
        out["negatives"] = len(ordinary)
    out["positives"] = tp + fn
    return out
