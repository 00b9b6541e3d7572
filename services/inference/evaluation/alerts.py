"""Alert scenarios: precision and recall on labelled positives, and the false-alarm rate on
ordinary scenes that do not show the subject at all.

Sample: ``{file: x.jpg, alert: true|false, ordinary: true|false, baseline: y.jpg, frames: [...],
params: {...}}``. ``alert`` defaults to false and ``ordinary`` to "not alert"; hard negatives
(steam from a stack, a red sign) are written ``alert: false, ordinary: false`` so that they count
for precision but not for the false-alarm rate on everyday scenes.

How each sample is shown to the scenario, as a bureau's camera would:
- scenarios that compare with the camera's own clear-day baseline (a check with ``max_rise``) get
  the baseline measured on the sample's ``baseline`` frame (same view, another day) first; a
  sample without one is skipped for them;
- multi-frame scenarios (``fire_colour``: flicker) get a stream of the same source: the sample's
  ``frames``, or, for a still, the still repeated with sensor noise (a static camera). A stream
  counts as one alert if any frame alerts, which is what a bureau would see as an event.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from services.inference.evaluation import EvalSet, Report, Runner, register
from services.inference.evaluation.metrics import alert_metrics
from services.inference.pipelines.primitives import image_indices

STREAM_FAMILIES = {"fire_colour"}


def still_as_stream(content: bytes, frames: int, seed: int) -> list[bytes]:
    """The same view repeated with fresh sensor noise and re-encoding, as a static camera sends it."""
    import cv2

    image = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    rng = np.random.default_rng(seed)
    out = [content]
    for _ in range(frames - 1):
        noisy = (image.astype(np.float32) + rng.normal(0, 2.5, image.shape)).clip(0, 255).astype(np.uint8)
        out.append(cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    return out


def baseline_params(runner: Runner, evalset: EvalSet, sample: dict, params: dict) -> dict | None:
    """Params with the camera's clear-day ``baseline`` measured on the sample's baseline frame;
    None when the scenario needs a baseline and the sample has none."""
    indices = [c["index"] for c in params.get("checks", []) if "max_rise" in c]
    if not indices:
        return params
    if not sample.get("baseline"):
        return None
    measured = image_indices(runner.context(), evalset.file(sample["baseline"]), want=indices, roi=params["roi"])
    return {**params, "baseline": {name: measured.values[name] for name in indices
                                   if measured.values[name] is not None}}


def run_sample(runner: Runner, evalset: EvalSet, sample: dict[str, Any], index: int) -> bool | None:
    """Whether the scenario alerted on this sample (None: the sample does not apply to it)."""
    overrides = dict(sample.get("params") or {})
    params = baseline_params(runner, evalset, sample, runner.resolve(_without_baseline(overrides), check=False))
    if params is None:
        return None
    overrides = {**overrides, **({"baseline": params["baseline"]} if "baseline" in params else {})}
    try:
        runner.resolve(overrides)
    except ValueError:  # the scenario refuses this camera (e.g. no sky to calibrate on): it never alerts
        return False
    source = f"eval-{evalset.name}-{index}"
    if runner.item["pipeline"] in STREAM_FAMILIES:
        frames = ([evalset.file(f) for f in sample["frames"]] if sample.get("frames")
                  else still_as_stream(evalset.file(sample["file"]), params.get("flicker_frames", 5),
                                       zlib.crc32(sample["file"].encode())))
        runner.reset()
        return any([runner.run(content=frame, params=overrides, source=source).alert for frame in frames])
    return runner.run(content=evalset.file(sample["file"]), params=overrides, source=source).alert


def _without_baseline(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "baseline"}


@register("alerts")
def evaluate_alerts(runner: Runner, evalset: EvalSet) -> Report:
    report = Report(scenario=runner.slug, kind="alerts", evalset=evalset)
    rows: list[tuple[bool, bool, bool]] = []
    per_scene: dict[str, list[bool]] = {}
    for index, sample in enumerate(evalset.samples):
        want = bool(sample.get("alert", False))
        got = run_sample(runner, evalset, sample, index)
        if got is None:
            continue
        ordinary = bool(sample.get("ordinary", not want))
        rows.append((want, got, ordinary))
        if ordinary and not want:
            per_scene.setdefault(sample.get("scene", "other"), []).append(got)
        if want != got:
            report.failures.append(f"{sample['file']}: {'missed' if want else 'false alarm'}")
    report.samples = len(rows)
    report.metrics = alert_metrics(rows)
    if per_scene:
        report.breakdown["false_alarms_per_scene"] = {
            scene: {"false_alarms": sum(v), "n": len(v)} for scene, v in sorted(per_scene.items())}
    return report
