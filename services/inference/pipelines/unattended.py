"""Unattended object: an object of given classes (a bag, a backpack, a suitcase) stays put in a zone
with nobody near it for at least N seconds.

Objects are followed from frame to frame of one source by box overlap (as in ``dwell_in_zone``
with ``match: iou``). An object is attended while a person stands within ``attended_within_m`` of
it; distances are measured between ground points with the person's own box height as a 1.7 m
ruler, so the same setting holds near and far from the camera. The clock starts on the first frame
where the object is alone and restarts whenever someone is with it again. Each object fires once,
on the first frame where it has been alone for ``min_unattended_s``; an object the detector misses
in a frame or two is kept for ``max_gap_s``, so only an object that leaves (and comes back) fires
again. The tracks travel in each result to the next frame.
"""

import math
from datetime import datetime

from services.inference.pipelines import Context, Item, Outcome, drawing, follows_one_camera, register
from services.inference.pipelines.dwell import match_to_tracks
from services.inference.pipelines.geometry import denormalize, foot_point, point_in_polygon
from services.inference.pipelines.primitives import detect_objects
from services.inference.pipelines.zone import check_classes

PERSON_HEIGHT_M = 1.7
ATTENDANTS = ("person",)


def distance_m(obj_box, person_box) -> float:
    """Ground distance between an object and a person in metres, with the person's box height
    taken as 1.7 m at that depth."""
    height = person_box[3] - person_box[1]
    if height <= 0:
        return math.inf
    (ox, oy), (px, py) = foot_point(obj_box), foot_point(person_box)
    return math.hypot(px - ox, py - oy) / height * PERSON_HEIGHT_M


def is_attended(obj_box, people_boxes, within_m: float) -> bool:
    return any(distance_m(obj_box, person) <= within_m for person in people_boxes)


def follow_objects(
    previous: list[dict], current: list[dict], *, now: datetime, min_iou: float, min_unattended_s: float,
    max_gap_s: float,
) -> list[dict]:
    """Continue the previous tracks with the objects seen now (greedy by overlap, same label).

    ``current``: {"label", "box", "attended"}. Tracks: {"label", "box", "since", "last_seen",
    "unattended_since" (ISO time or None), "unattended_s", "seen", "alerted", "fires"}. A previous
    track not seen now is kept unchanged (``seen`` False) while it was last seen no more than
    ``max_gap_s`` ago, and dropped after that.
    """
    tracks = []
    pairs, free = match_to_tracks(previous, current, min_iou=min_iou)
    for obj, best in pairs:
        if best is not None:
            since, was_alerted = best["since"], best["alerted"]
            alone_since = best["unattended_since"]
        else:
            since, was_alerted, alone_since = now.isoformat(), False, None
        if obj["attended"]:
            alone_since = None
        elif alone_since is None:
            alone_since = now.isoformat()
        alone_s = (now - datetime.fromisoformat(alone_since)).total_seconds() if alone_since else 0.0
        reached = alone_since is not None and alone_s >= min_unattended_s
        tracks.append({
            "label": obj["label"], "box": obj["box"], "since": since, "last_seen": now.isoformat(),
            "unattended_since": alone_since, "unattended_s": round(alone_s, 1), "attended": obj["attended"],
            "seen": True, "alerted": was_alerted or reached, "fires": reached and not was_alerted,
        })
    for track in free:
        if (now - datetime.fromisoformat(track["last_seen"])).total_seconds() <= max_gap_s:
            tracks.append({**track, "seen": False, "fires": False})
    return tracks


@register("unattended_object", check_params=check_classes, needs_source=follows_one_camera())
def unattended_object(ctx: Context, item: Item) -> Outcome:
    params = item.params
    ctx.require_source()
    image = drawing.decode(item.content)
    height, width = image.shape[:2]
    zone = denormalize(params["zone"], width, height)
    detections = detect_objects(ctx, item.content, min_score=params["min_score"])
    people = [det for det in detections if det.label in ATTENDANTS]
    objects = [det for det in detections
               if det.label in params["classes"] and point_in_polygon(foot_point(det.box), zone)]
    current = [
        {"label": det.label, "box": [round(v, 1) for v in det.box],
         "attended": is_attended(det.box, [p.box for p in people], params["attended_within_m"])}
        for det in objects
    ]
    tracks = follow_objects(
        ctx.previous_tracks(params["max_gap_s"]), current, now=ctx.now, min_iou=params["min_iou"],
        min_unattended_s=params["min_unattended_s"], max_gap_s=params["max_gap_s"],
    )
    seen = [t for t in tracks if t["seen"]]
    firing = [t for t in tracks if t["fires"]]
    longest = max((t["unattended_s"] for t in seen), default=0.0)

    drawing.draw_polygon(image, zone, drawing.RED if firing else drawing.AMBER)
    for person in people:
        drawing.draw_box(image, person.box, "person", drawing.GREEN)
    for track in seen:
        colour = drawing.RED if track["alerted"] else (drawing.GREEN if track["attended"] else drawing.AMBER)
        drawing.draw_box(image, track["box"], f"{track['label']} alone {track['unattended_s']:.0f} s", colour)
    limit = params["min_unattended_s"]
    if firing:
        names = ", ".join(t["label"] for t in firing)
        summary = f"left unattended ≥ {limit:g} s: {names}"
        summary_zh = f"无人看管超过 {limit:g} 秒：{names}"
    else:
        summary = f"{len(seen)} object(s) in the zone, longest alone {longest:.0f} s (alert at ≥ {limit:g} s)"
        summary_zh = f"区域内物品 {len(seen)} 件，最长无人看管 {longest:.0f} 秒（达到 {limit:g} 秒告警）"
    return Outcome(
        alert=bool(firing),
        summary=summary,
        summary_zh=summary_zh,
        data={
            "in_zone": len(seen),
            "people": len(people),
            "longest_unattended_s": longest,
            "firing": [t["label"] for t in firing],
            "tracks": tracks,
            "objects": [det.as_dict() for det in objects],
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
