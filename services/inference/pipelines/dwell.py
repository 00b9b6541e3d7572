"""Dwell in zone: something stays in a zone across frames of one source for at least N seconds.

Two ways to follow it from frame to frame (``match``):
- ``iou``: the same object stays put (a parked vehicle, a left bag): a detection continues a track
  of the previous frame when their boxes overlap by at least ``min_iou``.
- ``zone``: the zone stays occupied, whoever is in it (loitering people move and swap places, so
  their identity across snapshots is not reliable): one track for "the zone holds at least one".
A track is broken when frames are more than ``max_gap_s`` apart. Each track fires once, on the first
frame where its dwell reaches ``min_dwell_s``; the tracks travel in the result to the next frame.
"""

from datetime import datetime

from services.inference.pipelines import Context, Item, Outcome, drawing, follows_one_camera, register
from services.inference.pipelines.zone import check_classes, objects_in_zone


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_to_tracks(previous: list[dict], current: list[dict], *, min_iou: float) -> tuple[list, list[dict]]:
    """Pair each current object (largest first) with the previous track of the same label it
    overlaps most, by at least ``min_iou``; each track continues at most one object. Returns
    ([(object, track or None)], the previous tracks nothing continued)."""
    free = list(previous)
    pairs = []
    for obj in sorted(current, key=lambda o: -(o["box"][2] - o["box"][0]) * (o["box"][3] - o["box"][1])):
        best, best_iou = None, min_iou
        for track in free:
            overlap = iou(track["box"], obj["box"]) if track["label"] == obj["label"] else 0.0
            if overlap >= best_iou:
                best, best_iou = track, overlap
        if best is not None:
            free.remove(best)
        pairs.append((obj, best))
    return pairs, free


def continue_tracks(
    previous: list[dict], current: list[dict], *, now: datetime, min_iou: float, min_dwell_s: float
) -> list[dict]:
    """Match current boxes to previous tracks (greedy by overlap) and carry their start time.

    ``previous`` tracks and the returned ones: {"label", "box", "since" (ISO time), "dwell_s",
    "alerted"}; ``current``: {"label", "box"}.
    """
    tracks = []
    pairs, _ = match_to_tracks(previous, current, min_iou=min_iou)
    for obj, best in pairs:
        if best is not None:
            since = datetime.fromisoformat(best["since"])
            was_alerted = best["alerted"]
        else:
            since, was_alerted = now, False
        dwell = (now - since).total_seconds()
        tracks.append({
            "label": obj["label"], "box": obj["box"], "since": since.isoformat(), "dwell_s": round(dwell, 1),
            "alerted": was_alerted or dwell >= min_dwell_s, "fires": not was_alerted and dwell >= min_dwell_s,
        })
    return tracks


@register("dwell_in_zone", check_params=check_classes, needs_source=follows_one_camera())
def dwell_in_zone(ctx: Context, item: Item) -> Outcome:
    params = item.params
    ctx.require_source()
    image = drawing.decode(item.content)
    objects, zone = objects_in_zone(ctx, item, image)
    inside = [det for det, is_in in objects if is_in]
    if params["match"] == "zone":
        current = [{"label": "zone", "box": [0.0, 0.0, 1.0, 1.0]}] if len(inside) >= params["min_count"] else []
        min_iou = 0.0
    else:
        current = [{"label": det.label, "box": [round(v, 1) for v in det.box]} for det in inside]
        min_iou = params["min_iou"]
    tracks = continue_tracks(
        ctx.previous_tracks(params["max_gap_s"]), current, now=ctx.now, min_iou=min_iou,
        min_dwell_s=params["min_dwell_s"],
    )
    firing = [t for t in tracks if t["fires"]]
    longest = max((t["dwell_s"] for t in tracks), default=0.0)

    drawing.draw_polygon(image, zone, drawing.RED if firing else drawing.AMBER)
    for det in inside:
        drawing.draw_box(image, det.box, f"{det.label} {det.score:.2f}", drawing.RED if firing else drawing.GREEN)
    return Outcome(
        alert=bool(firing),
        summary=f"longest dwell {longest:.0f} s (alert at ≥ {params['min_dwell_s']} s)",
        summary_zh=f"最长停留 {longest:.0f} 秒（达到 {params['min_dwell_s']} 秒告警）",
        data={
            "in_zone": len(inside),
            "longest_dwell_s": longest,
            "tracks": tracks,
            "objects": [det.as_dict() for det in inside],
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
