"""OCR: line accuracy (a labelled line read exactly, spaces aside) and character error rate (edit
distance of each labelled line to the closest line read, over all labelled characters).

Sample: ``{file: 01.jpg, lines: [第一行, 第二行, ...]}``; the scenario must return ``lines`` (or
``text``) as the ocr families do.
"""

from services.inference.evaluation import EvalSet, Report, Runner, register
from services.inference.evaluation.metrics import edit_distance


def _squash(text: str) -> str:
    return "".join(text.split())


@register("ocr")
def evaluate_ocr(runner: Runner, evalset: EvalSet) -> Report:
    report = Report(scenario=runner.slug, kind="ocr", evalset=evalset)
    exact = total_lines = errors = chars = 0
    for sample in evalset.samples:
        outcome = runner.run(content=evalset.file(sample["file"]))
        read = [_squash(line["text"]) for line in outcome.data.get("lines", [])] or [
            _squash(t) for t in outcome.data.get("text", "").splitlines()]
        for truth in map(_squash, sample["lines"]):
            distance = min((edit_distance(truth, r) for r in read), default=len(truth))
            total_lines += 1
            exact += distance == 0
            errors += min(distance, len(truth))
            chars += len(truth)
            if distance:
                closest = min(read, key=lambda r: edit_distance(truth, r)) if read else ""
                report.failures.append(f"{sample['file']}: {truth!r} read as {closest!r}")
    report.samples = len(evalset.samples)
    report.metrics = {"line_accuracy": exact / max(1, total_lines), "cer": errors / max(1, chars),
                      "lines": total_lines}
    return report
