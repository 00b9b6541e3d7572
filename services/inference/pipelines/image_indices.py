"""Image indices: classical, published measurements from the shared ``image_analytics`` model
(Ringelmann blackness, dark-channel haze, flame colour, Forel-Ule water colour, change against a
reference, brightness), turned into alerts by three rule families:

- ``image_index``: named indices inside a ROI checked against a normal range (chimney smoke,
  dust, water colour, street lighting);
- ``image_change``: the share of a ROI that changed against a reference view of the same camera
  (a foreign object on a line, a defect against a golden sample, a new structure, a road collapse);
- ``fire_colour``: flame-coloured regions in this frame, with flicker across recent frames of the
  same source as a second, temporal cue.

Rules of thumb must not fire on a scene without their subject (issue 15; evaluated on ordinary
scenes by ``manage.py evaluate``), so two checks need the camera calibrated and refuse to run
without it (400 ``invalid_params`` at submit):
- Ringelmann (``ringelmann_grade``) needs the stack outlet marked (``stack``: [x, y]) and the grade
  of the clear-day view (``baseline``); a plume counts only when it is found against the sky (most
  of the ROI around it is smooth, bright and grey-or-blue), starts at the stack and is darker than
  the clear day. A dark car grille or a shop sign is always there, so it never rises.
- Checks against the camera's own clear-day baseline (``max_rise``/``max_fall``, used by dust and
  water colour) need ``baseline`` values for their index, read from a result on a clear day.

The reference of ``image_change`` is, in order: ``reference_image`` in the params (base64; for a
golden sample or a one-off check), else the first frame of the same source. That first frame
becomes the reference and every later result names it (``reference.request_id``), so the next
frame finds it from the newest earlier result alone; ``reset_reference`` starts a new one (after
approved works, or when the camera was moved).
"""

import base64
import binascii
import math
import statistics

import cv2
import numpy as np

from services.inference.pipelines import Context, InputRejected, Item, Outcome, PastRequest, drawing, register
from services.inference.pipelines.geometry import denormalize
from services.inference.pipelines.primitives import ImageIndices, image_index_names, image_indices

# Index -> what its evidence boxes are called on the annotated image.
EVIDENCE_LABELS = {"ringelmann_grade": "smoke", "fire_fraction": "flame", "change_fraction": "changed"}
CHANGE_INDICES = ("change_fraction", "ssim_mean", "shift_px")
REFERENCE_LOOKBACK = 50  # earlier results searched for the current reference
MAX_DRAWN_REGIONS = 10


# --- shared helpers ------------------------------------------------------------------------------


def _rounded(values: dict[str, float | None], digits: int = 4) -> dict[str, float | None]:
    return {name: (round(v, digits) if v is not None else None) for name, v in values.items()}


def _is_whole_frame(roi: list) -> bool:
    xs, ys = [p[0] for p in roi], [p[1] for p in roi]
    return len(roi) == 4 and set(xs) == {0, 1} and set(ys) == {0, 1}


def _annotate(image: np.ndarray, params: dict, evidence: list, *, alert: bool, caption: str) -> bytes:
    height, width = image.shape[:2]
    if not _is_whole_frame(params["roi"]):
        drawing.draw_polygon(image, denormalize(params["roi"], width, height), drawing.RED if alert else drawing.AMBER)
    for region in evidence[:MAX_DRAWN_REGIONS]:
        label = EVIDENCE_LABELS.get(region.kind, region.kind)
        drawing.draw_box(image, region.box, label, drawing.RED if alert else drawing.AMBER)
    scale = max(0.5, min(height, width) / 900)
    cv2.putText(image, caption, (8, round(28 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(image, caption, (8, round(28 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return drawing.encode_jpeg(image)


def _format(value: float) -> str:
    return f"{value:.3g}"


# --- image_index ---------------------------------------------------------------------------------


def check_range(name: str, value: float | None, low: float | None, high: float | None, *,
                baseline: float | None = None, max_rise: float | None = None, max_fall: float | None = None) -> dict:
    """One check of one index against its normal range and, when calibrated, against the camera's
    clear-day ``baseline``: then it fails only when the value rises more than ``max_rise`` above the
    baseline (or falls more than ``max_fall`` below it) *and* leaves the range. A value that does
    not apply never fails."""
    row = {"index": name, "value": None if value is None else round(value, 4), "min": low, "max": high}
    if max_rise is not None or max_fall is not None:
        row.update(baseline=baseline, max_rise=max_rise, max_fall=max_fall)
    if value is None:
        return {**row, "ok": True, "note": "not applicable"}
    in_range = (low is None or value >= low) and (high is None or value <= high)
    if baseline is None or (max_rise is None and max_fall is None):
        return {**row, "ok": in_range}
    as_usual = (max_rise is None or value - baseline <= max_rise) and (max_fall is None or baseline - value <= max_fall)
    # Calibrated: alert only on a departure from this camera's clear day that is also out of the
    # range (when one is given): a dark grille that is always there is no smoke.
    has_range = low is not None or high is not None
    return {**row, "ok": as_usual or (has_range and in_range)}


def _describe(check: dict) -> str:
    name, value = check["index"], check["value"]
    if value is None:
        return f"{name} n/a" + (f" ({check['note']})" if check.get("note") not in (None, "not applicable") else "")
    if check.get("baseline") is not None:
        rise = value - check["baseline"]
        if (check.get("max_rise") is not None and rise > check["max_rise"]) or (
                check.get("max_fall") is not None and -rise > check["max_fall"]):
            return f"{name} {_format(value)} ({rise:+.3g} against the clear-day baseline {_format(check['baseline'])})"
    if check["max"] is not None and value > check["max"]:
        return f"{name} {_format(value)} > {_format(check['max'])}"
    if check["min"] is not None and value < check["min"]:
        return f"{name} {_format(value)} < {_format(check['min'])}"
    return f"{name} {_format(value)}"


NEEDS_CALIBRATION = "this scenario needs per-camera calibration before it can run"


def _check_index_params(params: dict) -> None:
    known = set(image_index_names())
    baseline = params.get("baseline") or {}
    for check in params.get("checks", []):
        if check["index"] not in known:
            raise ValueError(f"unknown index {check['index']!r}; the model computes {sorted(known)}")
        if not {"min", "max", "max_rise", "max_fall"} & set(check):
            raise ValueError(f"check of {check['index']!r} needs a 'min', a 'max', a 'max_rise' or a 'max_fall'")
        if ({"max_rise", "max_fall"} & set(check)) and check["index"] not in baseline:
            raise ValueError(
                f"{NEEDS_CALIBRATION}: set baseline.{check['index']} to this camera's value on a clear day "
                f"(submit a clear-day frame and copy 'indices.{check['index']}' from its result)")
        if check["index"] == "ringelmann_grade" and not params.get("stack"):
            raise ValueError(
                f"{NEEDS_CALIBRATION}: mark the stack outlet ('stack': [x, y], 0..1 of the frame) and draw "
                "the ROI over the sky above it; smoke is graded only against the sky at the stack")
        if "min" in check and "max" in check and check["min"] > check["max"]:
            raise ValueError(f"check of {check['index']!r}: min {check['min']} is above max {check['max']}")


@register("image_index", check_params=_check_index_params)
def image_index(ctx: Context, item: Item) -> Outcome:
    params = item.params
    image = drawing.decode(item.content)
    wanted = list(dict.fromkeys(c["index"] for c in params["checks"]))
    result = image_indices(ctx, item.content, want=wanted, roi=params["roi"])
    values = dict(result.values)
    notes: dict[str, str] = {}
    if params.get("stack") and values.get("ringelmann_grade"):
        why = plume_not_at_stack(image, params, result.evidence_for("ringelmann_grade"))
        if why:
            values["ringelmann_grade"], notes["ringelmann_grade"] = None, why
    baseline = params.get("baseline") or {}
    checks = []
    for c in params["checks"]:
        row = check_range(c["index"], values.get(c["index"]), c.get("min"), c.get("max"),
                          baseline=baseline.get(c["index"]), max_rise=c.get("max_rise"), max_fall=c.get("max_fall"))
        if c["index"] in notes:
            row["note"] = notes[c["index"]]
        checks.append(row)
    failed = [c for c in checks if not c["ok"]]
    alert = bool(failed)
    kinds = {c["index"] for c in params["checks"]}
    evidence = [e for e in result.evidence if e.kind in kinds] if alert else []
    summary = ("out of range: " + "; ".join(_describe(c) for c in failed)) if failed else (
        "within range: " + "; ".join(_describe(c) for c in checks))
    summary_zh = ("超出范围：" + "；".join(_describe(c) for c in failed)) if failed else (
        "在正常范围内：" + "；".join(_describe(c) for c in checks))
    return Outcome(
        alert=alert,
        summary=summary,
        summary_zh=summary_zh,
        data={
            "checks": checks,
            "indices": _rounded({name: result.values[name] for name in wanted}),
            **({"calibration": {k: params[k] for k in ("stack", "baseline") if params.get(k)}}
               if params.get("stack") or params.get("baseline") else {}),
            "evidence": [e.as_dict() for e in evidence],
            "image": {"width": image.shape[1], "height": image.shape[0]},
        },
        annotated_jpeg=_annotate(image, params, evidence, alert=alert, caption=summary[:80]),
    )


# Ringelmann at a marked stack: the sky test and how near the stack a plume must start.
SKY_MIN_SHARE = 0.6  # of the ROI outside the plume boxes
SKY_MAX_GRADIENT = 24.0  # Sobel magnitude (grey levels) of a smooth sky after a light blur
SKY_MIN_VALUE = 90  # HSV value: sky in daylight is not dark
SKY_MAX_SATURATION = 70  # grey or white sky ...
SKY_BLUE_HUES = (90, 130)  # ... or blue (OpenCV hue 0..180)
STACK_REACH = 0.08  # of the frame's diagonal: the plume's box must come this close to the outlet


def sky_share(image: np.ndarray, roi_px: list, exclude: list[tuple[float, ...]]) -> float:
    """Share of the ROI (plume boxes left out) that looks like sky: smooth, bright, grey or blue."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(roi_px)).astype(np.int32)], 1)
    for x1, y1, x2, y2 in exclude:
        mask[max(0, int(y1)):math.ceil(y2), max(0, int(x1)):math.ceil(x2)] = 0
    area = int(mask.sum())
    if area == 0:
        return 0.0
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (0, 0), 1.0).astype(np.float32)
    gradient = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    hue, sat, val = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
    sky = ((gradient <= SKY_MAX_GRADIENT) & (val >= SKY_MIN_VALUE)
           & ((sat <= SKY_MAX_SATURATION) | ((hue >= SKY_BLUE_HUES[0]) & (hue <= SKY_BLUE_HUES[1]))))
    return float((sky & mask.astype(bool)).sum()) / area


def plume_not_at_stack(image: np.ndarray, params: dict, plumes: list) -> str:
    """Why a Ringelmann reading does not count (empty when it does): the ROI is not sky, or no
    plume starts at the marked stack outlet and rises from it."""
    height, width = image.shape[:2]
    roi_px = denormalize(params["roi"], width, height)
    share = sky_share(image, roi_px, [p.box for p in plumes])
    if share < SKY_MIN_SHARE:
        return f"no sky behind the ROI ({share:.0%} sky-like): not graded"
    sx, sy = params["stack"][0] * width, params["stack"][1] * height
    reach = STACK_REACH * math.hypot(width, height)
    for plume in plumes:
        x1, y1, x2, y2 = plume.box
        gap = math.hypot(max(x1 - sx, 0.0, sx - x2), max(y1 - sy, 0.0, sy - y2))
        if gap <= reach and y1 <= sy:  # touches the outlet and reaches above it
            return ""
    return "no plume rises from the marked stack: not graded"


# --- image_change --------------------------------------------------------------------------------


def _decode_reference_param(text: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("reference_image must be a base64-encoded JPEG or PNG") from None
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ValueError("reference_image is not a decodable image")
    return data


def _check_change_params(params: dict) -> None:
    if params.get("reference_image"):
        _decode_reference_param(params["reference_image"])


def find_reference(history: list[PastRequest]) -> str | None:
    """Id of the request whose input is the current reference of this source, from the newest
    earlier results (newest first): each names its reference, and a reference names itself
    by ``source: this_frame``."""
    for past in history:
        reference = past.result.get("reference") or {}
        if reference.get("source") == "this_frame":
            return past.id
        if reference.get("source") == "history" and reference.get("request_id"):
            return reference["request_id"]
    return None


def _set_reference(image: np.ndarray, params: dict, why: str) -> Outcome:
    summary = f"this frame is now the reference view ({why})"
    return Outcome(
        alert=False,
        summary=summary,
        summary_zh=f"本帧已设为参考画面（{why}）",
        data={"reference": {"source": "this_frame", "reason": why}, "change_fraction": None,
              "image": {"width": image.shape[1], "height": image.shape[0]}},
        annotated_jpeg=_annotate(image, params, [], alert=False, caption="reference view"),
    )


@register("image_change", check_params=_check_change_params)
def image_change(ctx: Context, item: Item) -> Outcome:
    params = item.params
    image = drawing.decode(item.content)
    if params.get("reference_image"):
        reference = _decode_reference_param(params["reference_image"])
        reference_info = {"source": "params"}
    else:
        if not ctx.source:
            raise InputRejected(
                "this scenario compares frames of one camera: send a 'source' with each frame, or a "
                "reference_image in the params"
            )
        if params["reset_reference"]:
            return _set_reference(image, params, "reset requested")
        history = ctx.history(within_s=params["reference_window_s"], same_source=True, limit=REFERENCE_LOOKBACK)
        reference_id = find_reference(history)
        reference = ctx.stored_input(reference_id) if reference_id else None
        if reference is None:
            why = "first frame of this source" if reference_id is None else "the previous reference is gone"
            return _set_reference(image, params, why)
        reference_info = {"source": "history", "request_id": reference_id}

    result: ImageIndices = image_indices(ctx, item.content, want=list(CHANGE_INDICES), reference=reference,
                                         roi=params["roi"])
    fraction = result.values["change_fraction"] or 0.0
    alert = fraction >= params["min_changed_fraction"]
    regions = result.evidence_for("change_fraction")
    summary = (f"{fraction:.2%} of the zone changed against the reference "
               f"(alert at ≥ {params['min_changed_fraction']:.2%}), {len(regions)} region(s)")
    return Outcome(
        alert=alert,
        summary=summary,
        summary_zh=(f"与参考画面相比区域内 {fraction:.2%} 发生变化（达到 {params['min_changed_fraction']:.2%} 告警），"
                    f"{len(regions)} 处"),
        data={
            "reference": reference_info,
            "change_fraction": round(fraction, 5),
            "ssim_mean": result.values["ssim_mean"],
            "shift_px": result.values["shift_px"],
            "regions": [e.as_dict() for e in regions],
            "min_changed_fraction": params["min_changed_fraction"],
            "image": {"width": image.shape[1], "height": image.shape[0]},
        },
        annotated_jpeg=_annotate(image, params, regions, alert=alert, caption=f"changed {fraction:.2%}"),
    )


# --- fire_colour ---------------------------------------------------------------------------------


def flicker(current: float, past: list[float | None], min_fraction: float) -> tuple[float | None, int]:
    """Coefficient of variation of the fire fraction over the current run of flame-coloured frames
    (this one, then earlier ones newest first, until one without flame colour). Flames change
    shape from frame to frame; a sign, a lamp or a painted part keeps its area. Returns (cv, frames)
    with cv None when fewer than three frames are in the run."""
    run = [current]
    for value in past:
        if value is None or value < min_fraction:
            break
        run.append(value)
    if len(run) < 3:
        return None, len(run)
    mean = statistics.fmean(run)
    return statistics.pstdev(run) / mean, len(run)


def fire_verdict(colour: bool, variation: float | None, params: dict) -> tuple[bool, str]:
    """Alert and confidence from this frame's colour and the flicker across frames."""
    if not colour:
        return False, "none"
    if variation is None:
        return not params["require_flicker"], "colour only (not enough frames of this source for flicker)"
    if variation >= params["min_flicker"]:
        return True, "colour and flicker"
    steady = "steady colour (no flicker: likely a static object)"
    return not (params["require_flicker"] or params["suppress_steady"]), steady


FLICKER_NEEDS_SOURCE = "tells a flame from flame-coloured things by its flicker over frames of one camera"


@register("fire_colour", needs_source=lambda params: FLICKER_NEEDS_SOURCE if params.get("require_flicker") else None)
def fire_colour(ctx: Context, item: Item) -> Outcome:
    params = item.params
    if params["require_flicker"]:  # flame colour alone also fires on orange paint, signs and lamps
        ctx.require_source(FLICKER_NEEDS_SOURCE)
    image = drawing.decode(item.content)
    result = image_indices(ctx, item.content, want=["fire_fraction"], roi=params["roi"])
    fraction = result.values["fire_fraction"] or 0.0
    colour = fraction >= params["min_fire_fraction"]
    past: list[float | None] = []
    if colour and ctx.source:
        history = ctx.history(within_s=params["flicker_window_s"], same_source=True, limit=params["flicker_frames"] - 1)
        past = [p.result.get("fire_fraction") for p in history]
    variation, frames = flicker(fraction, past, params["min_fire_fraction"]) if colour else (None, 1)
    alert, confidence = fire_verdict(colour, variation, params)
    regions = result.evidence_for("fire_fraction")
    summary = (f"flame colour on {fraction:.2%} of the zone (alert at ≥ {params['min_fire_fraction']:.2%}); "
               f"{confidence}" + (f", variation {variation:.2f} over {frames} frames" if variation is not None else ""))
    summary_zh = (f"区域内 {fraction:.2%} 呈火焰颜色（达到 {params['min_fire_fraction']:.2%} 告警）；{confidence}"
                  + (f"，{frames} 帧闪烁变化 {variation:.2f}" if variation is not None else ""))
    return Outcome(
        alert=alert,
        summary=summary,
        summary_zh=summary_zh,
        data={
            "fire_fraction": round(fraction, 5),
            "confidence": confidence,
            "flicker": round(variation, 4) if variation is not None and math.isfinite(variation) else None,
            "frames": frames,
            "regions": [e.as_dict() for e in regions],
            "min_fire_fraction": params["min_fire_fraction"],
            "image": {"width": image.shape[1], "height": image.shape[0]},
        },
        annotated_jpeg=_annotate(image, params, regions if colour else [], alert=alert,
                                 caption=f"flame colour {fraction:.2%}"),
    )
